"""The benchmark behind ``make bench``: index build, query latency (ours and the baseline, same
run), throughput and scale, written to ``eval/bench/RESULTS.md``.

Usage::

    python eval/bench/core.py [--out eval/bench/RESULTS.md] [--builds 5] [--questions 240]
                              [--million]

1. Index build: ``cancerassist index`` in a fresh process and a fresh directory, ``--builds``
   times (wall time, the build's own stage timings, peak memory of the process), then re-index
   after changing one file.
2. Latency: ``--questions`` distinct FR/EN questions (the gold set's, ``queries.txt``, then
   generated ones), each asked once after a warm-up, so that no query-embedding cache hit
   flatters the figures: in-process through ``ChatService`` with its per-stage timings, then over
   HTTP (``/api/chat``, ``/api/search``, a fresh server each), then through the plain llama-index
   baseline of the evaluation on the same questions.
3. Throughput of ``/api/chat`` at 1, 4, 16 and 64 clients (``load.py``), 1 and 2 workers.
4. Scale of the dense index on synthetic vectors (``scale.py``); the 1M rows, too slow for every
   run (``--million``), are quoted from ``SCALE.md`` (``make bench-scale``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import httpx
import load
import scale
from common import (
    HERE,
    ROOT,
    distinct,
    emit,
    generated_questions,
    header,
    percentiles,
    server,
    written_questions,
)

from cancerassist.chat import ChatService
from cancerassist.config import Settings, settings_env
from cancerassist.embed import load_embedder
from cancerassist.evaluate import BaselineSystem
from cancerassist.index import BuildReport, load_index
from cancerassist.models import ChatMessage, ChatRequest

WARM_UP = ["Qui contacter pour la valorisation ?", "What is BONE-NET?", "Budget du Cancéropôle"]
CHANGED_FILE = "bonenet-fp7-project.txt"


def index_command(env: dict[str, str]) -> tuple[float, float, BuildReport]:
    """One ``cancerassist index --json`` run: (wall seconds, peak RSS in MiB, its report)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "cancerassist", "index", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"cancerassist index failed ({process.returncode})")
    report = BuildReport.model_validate_json(output.decode().strip().splitlines()[-1])
    return wall, usage.ru_maxrss / 1024, report


def bench_build(corpus: Path, index_dir: Path, builds: int) -> list[str]:
    walls, builds_s, embeds, peaks = [], [], [], []
    report = None
    for n in range(builds):
        shutil.rmtree(index_dir, ignore_errors=True)
        env = {"CANCERASSIST_CORPUS_DIR": str(corpus), "CANCERASSIST_INDEX_DIR": str(index_dir)}
        wall, peak, report = index_command(env)
        walls.append(wall)
        builds_s.append(sum(report.timings_s.values()))
        embeds.append(report.timings_s["embed"])
        peaks.append(peak)
        print(f"build {n + 1}: {wall:.1f} s, peak {peak:.0f} MiB", flush=True)
    assert report is not None
    reindex, embedded = [], []
    changed = corpus / CHANGED_FILE
    for n in range(3):
        changed.write_text(
            changed.read_text(encoding="utf-8") + f"\n\nNote {n}\n\nUpdated sheet ({n}).\n",
            encoding="utf-8",
        )
        wall, _, again = index_command(env)
        reindex.append(wall)
        embedded.append(f"{again.embedded} re-embedded, {again.reused} reused")

    def spread(values: list[float], unit: str = "s") -> str:
        ordered = sorted(values)
        median = ordered[len(ordered) // 2]
        return f"median {median:.1f} {unit} (min {ordered[0]:.1f}, max {ordered[-1]:.1f})"

    return [
        "## Index build",
        "",
        f"{report.documents} documents, {report.chunks} chunks, {report.dense_index} index; "
        f"{builds} fresh builds, each `cancerassist index` in a new process and directory.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| `cancerassist index`, wall (process start to exit) | {spread(walls)} |",
        f"| build itself (load, chunk, embed, index, publish) | {spread(builds_s)} |",
        f"| of which embedding {report.chunks} chunks | {spread(embeds)} |",
        f"| peak memory of the process | {spread(peaks, 'MiB')} |",
        f"| re-index after changing one file, wall | {spread(reindex)}; {embedded[-1]} |",
        "",
    ]


def time_calls(call: Callable[[str], object], questions: list[str]) -> list[float]:
    latencies = []
    for question in questions:
        started = time.perf_counter()
        call(question)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def ask(question: str) -> ChatRequest:
    return ChatRequest(messages=[ChatMessage(role="user", content=question)])


def bench_latency(settings: Settings, questions: list[str]) -> list[str]:
    embedder = load_embedder(settings.embedder, settings.embedding_model)
    index = load_index(settings.index_dir, embedder)
    service = ChatService(settings=settings, index=index, embedder=embedder)
    for question in WARM_UP:
        service.run(ask(question))
    stages: dict[str, list[float]] = {}
    answered = 0
    ours: list[float] = []
    for question in questions:
        started = time.perf_counter()
        response = service.run(ask(question))
        ours.append((time.perf_counter() - started) * 1000)
        answered += response.status == "answered"
        for stage, ms in response.timings_ms.items():
            stages.setdefault(stage, []).append(ms)

    env = settings_env(settings)
    http: dict[str, list[float]] = {}
    for path in ("/api/chat", "/api/search"):
        with server(env=env) as url, httpx.Client(base_url=url, timeout=60) as client:

            def call(question: str, path: str = path, client: httpx.Client = client) -> None:
                if path == "/api/chat":
                    body = {"messages": [{"role": "user", "content": question}]}
                    reply = client.post(path, json=body)
                else:
                    reply = client.get(path, params={"q": question})
                reply.raise_for_status()

            time_calls(call, WARM_UP)
            http[path] = time_calls(call, questions)

    started = time.perf_counter()
    baseline = BaselineSystem(service.index.documents, embedder)
    baseline_build = time.perf_counter() - started
    time_calls(lambda q: baseline.answer([q]), WARM_UP)
    theirs = time_calls(lambda q: baseline.answer([q]), questions)

    ours_p, theirs_p = percentiles(ours), percentiles(theirs)
    ratio = ", ".join(
        f"{name} {a / b:.2f}"
        for name, a, b in zip(("p50", "p95", "p99"), ours_p, theirs_p, strict=True)
    )
    stage_rows = [
        f"| {stage} | {len(values)} | {' | '.join(f'{v:.2f} ms' for v in percentiles(values))} |"
        for stage, values in stages.items()
    ]
    return [
        "## Query latency",
        "",
        f"{len(questions)} distinct questions (FR and EN: the gold set's, `queries.txt`, then "
        f"generated ones), each asked once after a warm-up: no query-embedding cache hit. "
        f'{answered} of them answered in-process, the others are honest "no answer"s.',
        "",
        "| path | p50 | p95 | p99 |",
        "|---|---|---|---|",
        f"| ours, in-process (`ChatService.run`) | {_cells(ours)} |",
        f"| baseline, in-process (llama-index `VectorStoreIndex` retriever, top chunk) | "
        f"{_cells(theirs)} |",
        f"| ratio ours / baseline | {ratio.replace(', ', ' | ')} |",
        f"| `/api/chat` over HTTP (uvicorn, 1 worker, 127.0.0.1) | {_cells(http['/api/chat'])} |",
        f"| `/api/search` over HTTP | {_cells(http['/api/search'])} |",
        "",
        f"The baseline's index took {baseline_build:.1f} s to build in this run (same embedder). "
        "Ours answers without the embedder only when a question's cue words point to one fact "
        "route whose answer passes every check (stage `cues`); every other question pays for "
        "one query embedding (stage `analyse`, reused by retrieval), like the baseline.",
        "",
        "Stages, from the service's own timings (`timings_ms`; `analyse` and `facts` run for the "
        "questions not answered at `cues`, retrieval stages for those the facts do not answer):",
        "",
        "| stage | calls | p50 | p95 | p99 |",
        "|---|---|---|---|---|",
        *stage_rows,
        "",
    ]


def _cells(values: list[float]) -> str:
    return " | ".join(f"{v:.1f} ms" for v in percentiles(values))


def bench_throughput(settings: Settings, questions: list[str]) -> list[str]:
    levels, requests, rows = [1, 4, 16, 64], 200, []
    env = settings_env(settings)
    for workers in (1, 2):
        start = (workers - 1) * len(levels) * requests
        pool = questions[start : start + len(levels) * requests]
        rows += load.measure(pool, levels, requests, seconds=30, workers=workers, env=env)
    return [
        "## Throughput of `/api/chat`",
        "",
        f"`cancerassist serve --workers N` on 127.0.0.1, an asyncio + httpx client; {requests} "
        "requests per level (30 s at most), questions never repeated, no rate limit.",
        "",
        *load.TABLE,
        *rows,
        "",
    ]


def bench_scale(million: bool) -> list[str]:
    rows = [*scale.TABLE]
    for size in [10_000, 100_000, *([1_000_000] if million else [])]:
        scale.bench_vectors(size, rows)
    quoted = []
    measured = HERE / "SCALE.md"
    if not million and measured.exists():
        text = measured.read_text(encoding="utf-8")
        quoted = [line for line in text.splitlines() if line.startswith("| 1,000,000 |")]
        dated = [line for line in text.splitlines() if line.startswith("- date:")]
        if quoted:
            rows += quoted
            quoted = [
                f"1,000,000-vector rows quoted from `SCALE.md` (`make bench-scale`, "
                f"{dated[0].removeprefix('- date: ') if dated else 'undated'})."
            ]
    return [
        "## Scale of the dense index",
        "",
        f"Synthetic vectors ({scale.DESCRIPTION}); {scale.QUERIES} queries.",
        *(["", *quoted] if quoted else []),
        "",
        *rows,
        "",
        *scale.bench_bm25(100_000),
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="also write the report to this Markdown file")
    parser.add_argument("--builds", type=int, default=5, help="fresh index builds to time")
    parser.add_argument("--questions", type=int, default=240, help="distinct questions to time")
    parser.add_argument("--million", action="store_true", help="also 1M vectors (long)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        index_dir = Path(tmp) / "indexes"
        sections = bench_build(corpus, index_dir, args.builds)
        settings = Settings(corpus_dir=corpus, index_dir=index_dir, data_dir=Path(tmp) / "data")
        embedder = load_embedder(settings.embedder, settings.embedding_model)
        pool = [
            *written_questions(),
            *generated_questions(load_index(index_dir, embedder)),
        ]
        pool = list(dict.fromkeys(pool))
        latency_questions = distinct(pool, args.questions)
        sections += bench_latency(settings, latency_questions)
        sections += bench_throughput(settings, distinct(pool[::-1], 1600))
    sections += bench_scale(args.million)
    command = "python eval/bench/core.py" + (" --million" if args.million else "")
    model = (
        f"- model: {embedder.model_id}; faiss-cpu {version('faiss-cpu')}, bm25s {version('bm25s')}"
    )
    emit([*header("CancerAssist benchmarks", command), model, "", *sections], args.out)


if __name__ == "__main__":
    main()
