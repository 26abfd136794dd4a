"""Core pipeline benchmark: index build, incremental re-index, in-process search latency.

Usage::

    python eval/bench/core.py [--out eval/bench/RESULTS.md] [--repeat 3]

Builds a fresh index of ``corpus/`` in a temporary directory (nothing is reused), re-indexes after
changing one file, then times every question of ``queries.txt`` through the hybrid retriever
and through ``/api/chat`` over HTTP (uvicorn on 127.0.0.1), after a warm-up. Prints a Markdown
table; quotes medians and p95, never means alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from api.background import serving
from api.main import create_app

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.embed import Embedder, load_embedder
from cancerassist.index import build_index
from cancerassist.retrieve import HybridRetriever

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def _chat_over_http(
    settings: Settings, retriever: HybridRetriever, embedder: Embedder, questions: list[str]
) -> list[tuple[str, str]]:
    """/api/chat over HTTP on 127.0.0.1, one client, every question once after a warm-up."""
    service = ChatService(settings=settings, index=retriever.index, embedder=embedder)
    service.warm_up()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    with (
        serving(create_app(settings, service)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        for question in questions[:5]:
            http.post("/api/chat", json={"messages": [{"role": "user", "content": question}]})
        for question in questions:
            started = time.perf_counter()
            reply = http.post(
                "/api/chat", json={"messages": [{"role": "user", "content": question}]}
            )
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[reply.json()["status"]] = statuses.get(reply.json()["status"], 0) + 1
    return [
        (
            f"/api/chat over HTTP, {len(questions)} questions",
            f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 95):.1f} ms "
            f"({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))})",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="also write the report to this Markdown file")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the questions")
    args = parser.parse_args()

    questions = [
        q for q in (HERE / "queries.txt").read_text(encoding="utf-8").splitlines() if q.strip()
    ]
    embedder = load_embedder()
    embedder.embed_query("warm-up")
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "indexes")

        started = time.perf_counter()
        report = build_index(settings, embedder)
        build_s = time.perf_counter() - started
        rows.append(("Full build (fresh, no cache)", f"{build_s:.1f} s"))
        rows.append(("Documents / chunks", f"{report.documents} / {report.chunks}"))
        rows.append(
            ("Build stages", ", ".join(f"{k} {v:.2f} s" for k, v in report.timings_s.items()))
        )

        changed = corpus / "bonenet-fp7-project.txt"
        changed.write_text(
            changed.read_text(encoding="utf-8") + "\n\nNote\n\nUpdated sheet.\n", encoding="utf-8"
        )
        started = time.perf_counter()
        again = build_index(settings, embedder)
        reindex_s = time.perf_counter() - started
        detail = f"{again.embedded} re-embedded, {again.reused} reused"
        rows.append(("Re-index after changing one file", f"{reindex_s:.1f} s ({detail})"))

        retriever = HybridRetriever.from_settings(settings, embedder)
        for question in questions[:5]:
            retriever.run(question)
        totals: list[float] = []
        stages: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            # A new retriever per pass empties the query-embedding cache: every call is a miss.
            retriever = HybridRetriever(index=retriever.index, embedder=embedder)
            for question in questions:
                started = time.perf_counter()
                result = retriever.run(question, k=5)
                totals.append((time.perf_counter() - started) * 1000)
                for stage, ms in result.timings_ms.items():
                    stages.setdefault(stage, []).append(ms)
        rows.extend(_chat_over_http(settings, retriever, embedder, questions))
    rows.append(
        (
            f"Search latency, {len(questions)} questions x {args.repeat}",
            f"p50 {statistics.median(totals):.1f} ms, p95 {percentile(totals, 95):.1f} ms, "
            f"max {max(totals):.1f} ms",
        )
    )
    for stage, values in stages.items():
        rows.append(
            (
                f"  stage: {stage}",
                f"p50 {statistics.median(values):.2f} ms, p95 {percentile(values, 95):.2f} ms",
            )
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("Peak memory of this process", f"{peak_mb:.0f} MiB"))

    lines = [
        "# Core pipeline benchmark",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{len(os.sched_getaffinity(0))} cores",
        f"- model: {embedder.model_id}",
        "- command: `python eval/bench/core.py`",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
