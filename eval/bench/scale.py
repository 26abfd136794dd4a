"""Scale benchmark: FAISS exact vs HNSW vs IVF on synthetic collections, and BM25 at 100k chunks.

Usage::

    python eval/bench/scale.py [--sizes 10000 100000] [--million] [--out eval/bench/SCALE.md]

Vectors are synthetic unit vectors of the model's dimension (384) drawn around topic centres
(``clustered``), as real embeddings are: uniformly random vectors have no neighbourhood structure
and make every approximate index look broken. Queries are 200 fresh draws from the same mixture;
recall@10 of each approximate index is measured against exact search. Each index is built once
and swept over its query-time parameter. No text is embedded: the point is the index, not the
model. BM25 runs on generated French/English text with the project's own
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
from common import emit, header

from cancerassist.config import Settings
from cancerassist.text import term_variants, tokenize

DEFAULTS = Settings()  # the index parameters the product uses
DIMENSION = 384
LATENT = 32
QUERIES = 200
WORDS = (
    "cancer recherche financement région projet équipe valorisation contact tumorothèque "
    "partenaire coordinateur budget subvention chercheurs patients cohorte essai clinique "
    "network funding grant partner researchers clinical trial biobank institute university "
    "metastases immunotherapy genomics imaging platform emergence structuring mobility"
).split()


def clustered(rows: int, seed: int, topics: int) -> np.ndarray:
    """Unit vectors with the structure of text embeddings: ``topics`` centres in a
    ``LATENT``-dimensional subspace, a spread around each, a little isotropic noise. Nearest
    neighbours have a cosine of about 0.7 and unrelated vectors about 0; uniformly random
    vectors (intrinsic dimension 384) would have neither."""
    base = np.random.default_rng(0)
    basis = np.linalg.qr(base.standard_normal((DIMENSION, LATENT)))[0].astype(np.float32)
    centres = base.standard_normal((topics, LATENT)).astype(np.float32)
    rng = np.random.default_rng(seed)
    vectors = np.empty((rows, DIMENSION), dtype=np.float32)
    for start in range(0, rows, 100_000):  # in slices: 1M draws at once would double the peak
        n = min(100_000, rows - start)
        latent = centres[rng.integers(0, topics, n)] + rng.standard_normal((n, LATENT), np.float32)
        noise = rng.standard_normal((n, DIMENSION), np.float32) * 0.3 * np.sqrt(LATENT / DIMENSION)
        part = latent @ basis.T + noise
        vectors[start : start + n] = part / np.linalg.norm(part, axis=1, keepdims=True)
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

    topics = max(16, size // 500)
    data, queries = clustered(size, 1, topics), clustered(QUERIES, 2, topics)

    started = time.perf_counter()
    flat = faiss.IndexFlatIP(DIMENSION)
    flat.add(data)
    build = time.perf_counter() - started
    latencies, truth = timed_queries(flat.search, queries)
    rows.append(_row(size, "flat (exact)", build, flat, latencies=latencies, rec=1.0))

    started = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(DIMENSION, DEFAULTS.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = DEFAULTS.hnsw_ef_construction
    hnsw.add(data)
    build = time.perf_counter() - started
    for ef_search in (32, 64, 128, 256):
        hnsw.hnsw.efSearch = ef_search
        latencies, found = timed_queries(hnsw.search, queries)
        name = f"HNSW M={DEFAULTS.hnsw_m} efSearch={ef_search}"
        rows.append(_row(size, name, build, hnsw, latencies=latencies, rec=recall(found, truth)))

    lists = max(64, int(4 * np.sqrt(size)))
    started = time.perf_counter()
    quantizer = faiss.IndexFlatIP(DIMENSION)
    ivf = faiss.IndexIVFFlat(quantizer, DIMENSION, lists, faiss.METRIC_INNER_PRODUCT)
    ivf.train(data[: min(size, 40 * lists)])
    ivf.add(data)
    build = time.perf_counter() - started
    for probes in (8, 16, 32, 64):
        ivf.nprobe = probes
        latencies, found = timed_queries(ivf.search, queries)
        name = f"IVF{lists} nprobe={probes}"
        rows.append(_row(size, name, build, ivf, latencies=latencies, rec=recall(found, truth)))
    print("\n".join(rows[-9:]), flush=True)
    del flat, hnsw, ivf


def _row(
    size: int, name: str, build: float, index: Any, *, latencies: list[float], rec: float
) -> str:
    import faiss

    memory = faiss.serialize_index(index).nbytes / 2**20
    p50, p95 = statistics.median(latencies), float(np.percentile(latencies, 95))
    timing = f"{p50:.2f} ms | {p95:.2f} ms"
    return f"| {size:,} | {name} | {build:.1f} s | {memory:,.0f} MiB | {timing} | {rec:.3f} |"


def bench_bm25(size: int) -> list[str]:
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
    return [
        "| | collection | build | query |",
        "|---|---|---|---|",
        f"| BM25 | {size:,} chunks | build {build:.1f} s | {query} |",
    ]


DESCRIPTION = (
    f"unit vectors of dimension {DIMENSION} around one topic per 500 vectors in a "
    f"{LATENT}-dimensional subspace; recall@10 against exact search"
)
TABLE = [
    "| vectors | index | build | size | query p50 | query p95 | recall@10 |",
    "|---|---|---|---|---|---|---|",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 20_000, 50_000, 100_000])
    parser.add_argument(
        "--million", action="store_true", help="also 1,000,000 vectors (minutes, ~4 GiB)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sizes = [*args.sizes, *([1_000_000] if args.million else [])]
    rows = [*TABLE]
    for size in sizes:
        bench_vectors(size, rows)
    command = f"python eval/bench/scale.py --sizes {' '.join(map(str, args.sizes))}" + (
        " --million" if args.million else ""
    )
    lines = [
        *header("Scale benchmark", command),
        f"- {QUERIES} queries; {DESCRIPTION}",
        f"- peak memory {rss_mb():,.0f} MiB",
        "",
        *rows,
        "",
        *bench_bm25(100_000),
    ]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
