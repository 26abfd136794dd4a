"""Throughput of /api/chat under concurrent clients, on questions that are never repeated.

Usage::

    python eval/bench/load.py [--levels 1 4 16 64] [--requests 200] [--seconds 30] [--workers 1]
                              [--out eval/bench/LOAD.md]

Starts ``cancerassist serve`` in a separate process on a free 127.0.0.1 port (the index in
``CANCERASSIST_INDEX_DIR``, built first if missing), then, for each level of concurrency, sends a
bounded number of requests (and stops after a bounded time) with an asyncio/httpx client. The
questions are generated from the fact store and section titles so that no two are alike: no
query-embedding cache hit flatters the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from api.background import free_port

from cancerassist.config import get_settings
from cancerassist.embed import load_embedder
from cancerassist.index import IndexUnavailableError, build_index, load_index
from cancerassist.models import Contact, Funding, Person


def questions(count: int) -> list[str]:
    """Distinct FR/EN questions: fact lookups and passage questions, shuffled."""
    settings = get_settings()
    embedder = load_embedder(settings.embedder, settings.embedding_model)
    try:
        index = load_index(settings.index_dir, embedder)
    except IndexUnavailableError:
        build_index(settings, embedder)
        index = load_index(settings.index_dir, embedder)
    facts = index.facts.facts
    organisations = [f.organisation for f in facts if isinstance(f, Contact)]
    people = [f.name for f in facts if isinstance(f, Person)]
    funders = sorted({f.funder for f in facts if isinstance(f, Funding) and f.funder})
    sections = sorted({c.section for c in index.chunks if c.section})
    generated = (
        [f"Qui contacter pour la valorisation à {o} ?" for o in organisations]
        + [f"Who handles technology transfer at {o}?" for o in organisations]
        + [f"Qui est {p} ?" for p in people]
        + [f"Who is {p}?" for p in people]
        + [f"Combien {f} a-t-il accordé en {y} ?" for f in funders for y in range(2000, 2025)]
        + [f"How much did {f} grant in {y}?" for f in funders for y in range(2000, 2025)]
        + [f"Que disent les documents sur « {s} » ?" for s in sections]
        + [f"What do the documents say about {s}?" for s in sections]
    )
    unique = list(dict.fromkeys(generated))
    random.Random(7).shuffle(unique)
    # Past the distinct ones, number the templates so that each question still differs.
    return [
        q if i < len(unique) else f"{q} ({i})"
        for i, q in zip(range(count), itertools.cycle(unique), strict=False)
    ]


async def level(url: str, clients: int, batch: list[str], seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    pending = iter(batch)
    deadline = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for question in pending:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            try:
                reply = await http.post(
                    "/api/chat", json={"messages": [{"role": "user", "content": question}]}
                )
                if reply.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": float(np.percentile(latencies, 95)),
        "p99": float(np.percentile(latencies, 99)),
        "errors": errors,
    }


def _row(r: dict[str, float]) -> str:
    timings = f"{r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['p99']:.1f} ms"
    counts = f"{r['clients']:.0f} | {r['requests']:.0f} | {r['rps']:.1f}"
    return f"| {counts} | {timings} | {r['errors']:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", type=int, nargs="*", default=[1, 4, 16, 64])
    parser.add_argument("--requests", type=int, default=200, help="requests per level")
    parser.add_argument("--seconds", type=float, default=30, help="time limit per level")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    pool = questions(args.requests * len(args.levels))
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cancerassist",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Throughput is measured below the rate limit, so without it.
        env={**os.environ, "CANCERASSIST_RATE_LIMIT_PER_MINUTE": "0"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.5)
        rows = []
        for n, clients in enumerate(args.levels):
            batch = pool[n * args.requests : (n + 1) * args.requests]
            rows.append(asyncio.run(level(url, clients, batch, args.seconds)))
    finally:
        server.terminate()
        server.wait(timeout=30)

    lines = [
        "# Load benchmark: /api/chat, questions never repeated",
        "",
        f"- command: `python eval/bench/load.py --levels {' '.join(map(str, args.levels))} "
        f"--requests {args.requests} --workers {args.workers}`",
        f"- server: `cancerassist serve --workers {args.workers}` on 127.0.0.1; "
        "client: asyncio + httpx",
        "",
        "| clients | requests | requests/s | p50 | p95 | p99 | errors |",
        "|---|---|---|---|---|---|---|",
        *[_row(r) for r in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
