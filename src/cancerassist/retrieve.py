"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused by reciprocal rank.

The dense side carries meaning across languages (a French question finds an English passage);
BM25 carries exact names, acronyms, years and e-mail addresses that embeddings blur.

Example::

    retriever = HybridRetriever.from_settings(get_settings(), load_embedder())
    result = retriever.run("Who coordinates ONCO-NET?", k=3)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from cancerassist.config import Settings
from cancerassist.deadline import check_deadline
from cancerassist.embed import Embedder
from cancerassist.index import SearchIndex, load_index
from cancerassist.models import Chunk, SearchHit, SearchResult
from cancerassist.text import term_variants

Ranking = list[tuple[int, float]]


class Retriever(Protocol):
    def run(self, query: str, k: int = 5) -> SearchResult: ...


def reciprocal_rank_fusion(
    rankings: list[Ranking], rrf_k: int, weights: list[float] | None = None
) -> list[tuple[int, float]]:
    """Cormack et al. (2009): sum of weight / (rrf_k + rank) over the rankings a document is in."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, (doc, _) in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + weight / (rrf_k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


class HybridRetriever:
    def __init__(
        self,
        *,
        index: SearchIndex,
        embedder: Embedder,
        candidates: int = 50,
        rrf_k: int = 60,
        dense_weight: float = 1.0,
        bm25_weight: float = 1.0,
        query_cache_size: int = 1024,
    ) -> None:
        self.index = index
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.weights = [dense_weight, bm25_weight]
        # Repeated questions (widget suggestions, follow-ups) skip the model entirely.
        # Question analysis embeds the question first; retrieval then finds it in this cache.
        self.embed: Callable[[str], np.ndarray] = lru_cache(maxsize=query_cache_size)(
            embedder.embed_query
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, embedder: Embedder, index: SearchIndex | None = None
    ) -> HybridRetriever:
        """Configured by ``settings``; loads the index named there unless one is given."""
        index = index or load_index(settings.index_dir, embedder, settings.hnsw_ef_search)
        return cls(
            index=index,
            embedder=embedder,
            candidates=settings.retrieval_candidates,
            rrf_k=settings.rrf_k,
            dense_weight=settings.dense_weight,
            bm25_weight=settings.bm25_weight,
        )

    def run(
        self,
        query: str,
        k: int = 5,
        other_names: Sequence[str] = (),
        about: Callable[[Chunk], bool] | None = None,
    ) -> SearchResult:
        """The ``k`` best chunks for ``query``; ``other_names`` (the acronym of a name the
        query uses, say) are words the lexical search also looks for: a passage that writes
        "le RGO" is about the "Réseau Grand Ouest" the question names. ``about`` says
        whether a chunk is about what the query names: those candidates, in fused order, are
        a third ranking (the filter of a faceted search, as a vote rather than a cut)."""
        check_deadline()
        timings: dict[str, float] = {}
        started = time.perf_counter()
        vector = self.embed(query)
        timings["embed"] = time.perf_counter() - started

        started = time.perf_counter()
        dense = self.index.dense_search(vector, self.candidates)
        timings["dense"] = time.perf_counter() - started

        started = time.perf_counter()
        terms = term_variants(" ".join([query, *other_names]), translate=True)
        sparse = self.index.bm25_search(terms, self.candidates)
        timings["bm25"] = time.perf_counter() - started

        started = time.perf_counter()
        dense_rank = {doc: rank for rank, (doc, _) in enumerate(dense, start=1)}
        dense_score = dict(dense)
        sparse_rank = {doc: rank for rank, (doc, _) in enumerate(sparse, start=1)}
        fused = reciprocal_rank_fusion([dense, sparse], self.rrf_k, self.weights)
        if about is not None:
            named = [(doc, score) for doc, score in fused if about(self.index.chunks[doc])]
            fused = reciprocal_rank_fusion(
                [dense, sparse, named], self.rrf_k, [*self.weights, max(self.weights)]
            )
        fused = fused[:k]
        hits = [
            SearchHit(
                chunk=self.index.chunks[doc],
                score=score,
                rank=rank,
                dense_rank=dense_rank.get(doc),
                # Found by another ranking: scored all the same, so that how close it is in
                # meaning weighs in the answer (a missing score read as 0 would sink it).
                dense_score=(
                    dense_score[doc] if doc in dense_score else self.index.similarity(vector, doc)
                ),
                bm25_rank=sparse_rank.get(doc),
            )
            for rank, (doc, score) in enumerate(fused, start=1)
        ]
        timings["fusion"] = time.perf_counter() - started
        return SearchResult(
            query=query,
            hits=hits,
            timings_ms={name: round(s * 1000, 3) for name, s in timings.items()},
        )
