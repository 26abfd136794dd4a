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
import time
from pathlib import Path

import httpx
from common import distinct, emit, generated_questions, header, percentiles, server

from cancerassist.config import get_settings
from cancerassist.embed import load_embedder
from cancerassist.index import IndexUnavailableError, build_index, load_index


def question_pool(count: int) -> list[str]:
    settings = get_settings()
    embedder = load_embedder(settings.embedder, settings.embedding_model)
    try:
        index = load_index(settings.index_dir, embedder)
    except IndexUnavailableError:
        build_index(settings, embedder)
        index = load_index(settings.index_dir, embedder)
    return distinct(generated_questions(index), count)


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
    p50, p95, p99 = percentiles(latencies)
    return {
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "errors": errors,
    }


TABLE = [
    "| workers | clients | requests | requests/s | p50 | p95 | p99 | errors |",
    "|---|---|---|---|---|---|---|---|",
]


def row(workers: int, r: dict[str, float]) -> str:
    timings = f"{r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['p99']:.1f} ms"
    counts = f"{r['clients']:.0f} | {r['requests']:.0f} | {r['rps']:.1f}"
    return f"| {workers} | {counts} | {timings} | {r['errors']:.0f} |"


def measure(
    pool: list[str],
    levels: list[int],
    requests: int,
    *,
    seconds: float,
    workers: int,
    env: dict[str, str] | None = None,
) -> list[str]:
    """One server, one row per level of concurrency; each level gets its own questions."""
    rows = []
    with server(workers, env) as url:
        for n, clients in enumerate(levels):
            batch = pool[n * requests : (n + 1) * requests]
            rows.append(row(workers, asyncio.run(level(url, clients, batch, seconds))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", type=int, nargs="*", default=[1, 4, 16, 64])
    parser.add_argument("--requests", type=int, default=200, help="requests per level")
    parser.add_argument("--seconds", type=float, default=30, help="time limit per level")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    pool = question_pool(args.requests * len(args.levels))
    rows = measure(pool, args.levels, args.requests, seconds=args.seconds, workers=args.workers)
    command = (
        f"python eval/bench/load.py --levels {' '.join(map(str, args.levels))} "
        f"--requests {args.requests} --workers {args.workers}"
    )
    emit(
        [*header("Load benchmark: /api/chat, questions never repeated", command), *TABLE, *rows],
        args.out,
    )


if __name__ == "__main__":
    main()
