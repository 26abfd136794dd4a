"""Scale benchmark: FAISS exact vs HNSW vs IVF on synthetic collections, and BM25 at 100k chunks.

Usage::

    python eval/bench/scale.py [--sizes 10000 100000] [--million] [--out eval/bench/SCALE.md]

Vectors are random unit vectors of the model's dimension (384); recall@10 of each approximate
index is measured against exact search on 200 held-out queries. No text is embedded: the point
is the index, not the model. BM25 runs on generated French/English text with the project's own
tokeniser. Quotes medians and p95.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from cancerassist.text import term_variants, tokenize

DIMENSION = 384
QUERIES = 200
WORDS = (
    "cancer recherche financement région projet équipe valorisation contact tumorothèque "
    "partenaire coordinateur budget subvention chercheurs patients cohorte essai clinique "
    "network funding grant partner researchers clinical trial biobank institute university "
    "metastases immunotherapy genomics imaging platform emergence structuring mobility"
).split()


def unit(rows: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_queries(search: Any, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    latencies, found = [], []
    for query in queries:
        started = time.perf_counter()
        _, ids = search(query.reshape(1, -1), 10)
        latencies.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    return latencies, np.array(found)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def bench_vectors(size: int, rows: list[str]) -> None:
    import faiss

    data, queries = unit(size, 1), unit(QUERIES, 2)

    started = time.perf_counter()
    flat = faiss.IndexFlatIP(DIMENSION)
    flat.add(data)
    build = time.perf_counter() - started
    latencies, truth = timed_queries(flat.search, queries)
    rows.append(_row(size, "flat (exact)", build, flat, latencies=latencies, rec=1.0))

    for m, ef_search in ((32, 128), (32, 512)):
        started = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(DIMENSION, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.add(data)
        build = time.perf_counter() - started
        hnsw.hnsw.efSearch = ef_search
        latencies, found = timed_queries(hnsw.search, queries)
        name = f"HNSW M={m} efSearch={ef_search}"
        rows.append(_row(size, name, build, hnsw, latencies=latencies, rec=recall(found, truth)))

    lists = max(64, int(4 * np.sqrt(size)))
    started = time.perf_counter()
    quantizer = faiss.IndexFlatIP(DIMENSION)
    ivf = faiss.IndexIVFFlat(quantizer, DIMENSION, lists, faiss.METRIC_INNER_PRODUCT)
    ivf.train(data[: min(size, 50 * lists)])
    ivf.add(data)
    build = time.perf_counter() - started
    for probes in (16, 64):
        ivf.nprobe = probes
        latencies, found = timed_queries(ivf.search, queries)
        name = f"IVF{lists} nprobe={probes}"
        rows.append(_row(size, name, build, ivf, latencies=latencies, rec=recall(found, truth)))


def _row(
    size: int, name: str, build: float, index: Any, *, latencies: list[float], rec: float
) -> str:
    import faiss

    memory = faiss.serialize_index(index).nbytes / 2**20
    p50, p95 = statistics.median(latencies), float(np.percentile(latencies, 95))
    timing = f"{p50:.2f} ms | {p95:.2f} ms"
    return f"| {size:,} | {name} | {build:.1f} s | {memory:,.0f} MiB | {timing} | {rec:.3f} |"


def bench_bm25(size: int) -> str:
    import bm25s

    rng = random.Random(3)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(40, 120))) + f" doc{i}" for i in range(size)]
    started = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index([tokenize(t) for t in texts], show_progress=False)
    build = time.perf_counter() - started
    vocab = retriever.vocab_dict
    latencies = []
    for _ in range(QUERIES):
        question = " ".join(rng.choices(WORDS, k=6))
        terms = term_variants(question, translate=True)
        started = time.perf_counter()
        scores = np.zeros(size, dtype=np.float32)
        for variants in terms:
            ids = [vocab[v] for v in variants if v in vocab]
            if ids:
                scores += np.max([retriever.get_scores_from_ids([i]) for i in ids], axis=0)
        np.argpartition(-scores, 10)[:10]
        latencies.append((time.perf_counter() - started) * 1000)
    p50, p95 = statistics.median(latencies), float(np.percentile(latencies, 95))
    query = f"query p50 {p50:.2f} ms, p95 {p95:.2f} ms"
    return f"| BM25 | {size:,} chunks | build {build:.1f} s | {query} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument(
        "--million", action="store_true", help="also 1,000,000 vectors (minutes, ~4 GiB)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sizes = [*args.sizes, *([1_000_000] if args.million else [])]
    rows = [
        "| vectors | index | build | size | query p50 | query p95 | recall@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        bench_vectors(size, rows)
        print(rows[-1], flush=True)
    bm25 = bench_bm25(100_000)
    text = "\n".join(
        [
            "# Scale benchmark",
            "",
            f"- command: `python eval/bench/scale.py --sizes {' '.join(map(str, args.sizes))}"
            f"{' --million' if args.million else ''}`",
            f"- {QUERIES} queries, random unit vectors of dimension {DIMENSION}; "
            "recall against exact search",
            f"- peak memory {rss_mb():,.0f} MiB",
            "",
            *rows,
            "",
            "| | collection | build | query |",
            "|---|---|---|---|",
            bm25,
            "",
        ]
    )
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
