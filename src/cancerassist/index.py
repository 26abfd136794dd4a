"""Build, save and load the search index: FAISS vectors, BM25, chunk store and manifest.

Layout of ``indexes/``::

    CURRENT                  name of the build in use (replaced atomically)
    builds/<build_id>/       one complete build
        manifest.json        model id and dimension, file hashes, counts, artifact hashes
        chunks.jsonl         the chunk store
        documents.jsonl      the source texts that chunk spans point into
        dense.faiss          exact inner-product index, or HNSW above a size threshold
        bm25/                bm25s index over accent-folded, stemmed FR/EN tokens
        facts.json           typed facts (contacts, funding, roles, people…) with their spans
    builds/.<id>.partial/    a build in progress; never read, removed by the next build

A build is written to a ``.partial`` directory, renamed when complete, and only then named in
``CURRENT``: a crash at any point leaves the previous build in service.

Example::

    report = build_index(get_settings(), load_embedder())
    index = load_index(Path("indexes"), load_embedder())
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, Field
from tqdm import tqdm

from cancerassist import __version__
from cancerassist.chunk import chunk_document
from cancerassist.config import Settings, settings_env
from cancerassist.embed import Embedder
from cancerassist.facts import extract_facts
from cancerassist.ingest import Block, IngestError, load_aliases, load_corpus, parse_blocks
from cancerassist.models import (
    Chunk,
    DenseKind,
    EmbeddingInfo,
    FactStore,
    IngestProblem,
    Manifest,
    SourceDocument,
)
from cancerassist.profile import NEUTRAL, CorpusProfile, ProfileError, load_profile, profile_path
from cancerassist.text import tokenize

# Bumped whenever a build's files change meaning; older builds are refused, not misread.
FORMAT_VERSION = 3
CURRENT = "CURRENT"
BUILDS = "builds"
# What a build id looks like (made in build_index): CURRENT must name one, not a path.
_BUILD_ID = re.compile(r"[0-9]{8}T[0-9]{6}-[0-9a-f]{6}")
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
DOCUMENTS = "documents.jsonl"
DENSE = "dense.faiss"
BM25 = "bm25"
FACTS = "facts.json"
PROFILE = "profile.json"

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class IndexUnavailableError(Exception):
    """No usable index: the message tells the operator what to do."""


class BuildReport(BaseModel):
    build_id: str
    path: str
    documents: int
    chunks: int
    embedded: int
    reused: int
    dense_index: DenseKind
    timings_s: dict[str, float]
    problems: list[IngestProblem]
    facts_by_file: dict[str, dict[str, int]] = Field(
        default={}, description="Corpus file -> how many facts of each kind it yielded"
    )


def embedding_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _artifact_hashes(build_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(build_dir).as_posix(): _sha256_file(p)
        for p in sorted(build_dir.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(directory: Path) -> None:
    for path in [*directory.rglob("*"), directory]:
        _fsync(path)


class SearchIndex:
    """A loaded build: chunks, source documents, the dense and the BM25 index."""

    def __init__(
        self,
        *,
        path: Path,
        manifest: Manifest,
        chunks: list[Chunk],
        documents: dict[str, SourceDocument],
        dense: Any,
        bm25: Any,
        facts: FactStore,
        profile: CorpusProfile = NEUTRAL,
        refused: str | None = None,
    ) -> None:
        self.path = path
        # Why the build CURRENT names was not loaded, when this one is an older good build.
        self.refused = refused
        self.manifest = manifest
        self.chunks = chunks
        self.documents = documents
        self.dense = dense
        self.bm25 = bm25
        self.facts = facts
        # The corpus profile the build was made with: questions are read with the same one.
        self.profile = profile
        self._starts: dict[str, list[tuple[int, str]]] | None = None
        self._idf: dict[str, float] | None = None
        self._positions: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.chunks)

    def beside(self, chunk: Chunk) -> list[Chunk]:
        """The chunks just before and after ``chunk`` in its document and section: where a
        list cut by the chunker goes on."""
        if self._positions is None:
            self._positions = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        at = self._positions[chunk.chunk_id]
        return [
            other
            for other in self.chunks[max(0, at - 1) : at + 2]
            if other is not chunk and (other.doc_id, other.section) == (chunk.doc_id, chunk.section)
        ]

    def idf(self) -> dict[str, float]:
        """BM25's inverse document frequency of every indexed token (computed once)."""
        if self._idf is None:
            frequency = np.diff(self.bm25.scores["indptr"])
            total = len(self)
            self._idf = {
                token: math.log(1 + (total - int(frequency[i]) + 0.5) / (int(frequency[i]) + 0.5))
                for token, i in self.bm25.vocab_dict.items()
                if i < len(frequency)
            }
        return self._idf

    def section_at(self, doc_id: str, offset: int) -> str:
        """The section of the chunk that holds ``offset`` in document ``doc_id``."""
        starts = self._chunk_starts().get(doc_id, [])
        at = bisect_right(starts, (offset, "\uffff")) - 1
        return starts[at][1] if at >= 0 else ""

    def _chunk_starts(self) -> dict[str, list[tuple[int, str]]]:
        if self._starts is None:
            self._starts = {}
            for chunk in self.chunks:
                self._starts.setdefault(chunk.doc_id, []).append((chunk.start, chunk.section))
            for starts in self._starts.values():
                starts.sort()
        return self._starts

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        scores, ids = self.dense.search(vector.reshape(1, -1).astype(np.float32), min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def similarity(self, vector: np.ndarray, chunk: int) -> float:
        """The dense score of one chunk (inner product with its stored vector), for a chunk
        that another ranking found."""
        return float(np.dot(self.dense.reconstruct(chunk), vector.astype(np.float32)))

    def bm25_search(self, terms: list[list[str]], k: int) -> list[tuple[int, float]]:
        """BM25 over query words, each scored by the best of its forms (``text.term_variants``)."""
        vocab = self.bm25.vocab_dict
        scores = np.zeros(len(self), dtype=np.float32)
        for variants in terms:
            ids = [vocab[t] for t in variants if t in vocab]
            if ids:
                scores += np.max([self.bm25.get_scores_from_ids([i]) for i in ids], axis=0)
        top = np.argsort(-scores, kind="stable")[: min(k, len(self))]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def make_dense_index(vectors: np.ndarray, settings: Settings) -> tuple[Any, DenseKind]:
    import faiss

    dimension = vectors.shape[1]
    index: Any
    kind: DenseKind
    if len(vectors) < settings.hnsw_threshold:
        index, kind = faiss.IndexFlatIP(dimension), "flat"
    else:
        index = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
        kind = "hnsw"
    index.add(vectors)
    return index, kind


def make_bm25(chunks: list[Chunk]) -> Any:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index([tokenize(c.embedding_text()) for c in chunks], show_progress=False)
    return retriever


@contextmanager
def _build_lock(index_dir: Path, wait_s: float) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    with (index_dir / ".build.lock").open("w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    waited = f" (waited {wait_s:g} s)" if wait_s else ""
                    raise IndexUnavailableError(
                        f"another build of {index_dir} is running{waited}"
                    ) from exc
                time.sleep(0.2)
        yield


def _previous_embeddings(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of the newest intact build made by the same model, by embedding-text hash.

    Only its chunk store and vectors are read, after checking them against its manifest: a
    build of an older format still saves the embedding work, a damaged one is passed over.
    """
    import faiss

    for build_dir in reversed(complete_builds(index_dir / BUILDS)):
        try:
            manifest = read_manifest(build_dir)
            check_compatible(manifest, embedder)
            if any(
                manifest.artifacts.get(n) != _sha256_file(build_dir / n) for n in (CHUNKS, DENSE)
            ):
                continue
            with (build_dir / CHUNKS).open(encoding="utf-8") as f:
                chunks = [Chunk.model_validate_json(line) for line in f]
            dense = faiss.read_index(str(build_dir / DENSE))
            vectors = np.asarray(dense.reconstruct_n(0, dense.ntotal), dtype=np.float32)
        except (IndexUnavailableError, OSError, ValueError, RuntimeError):
            continue
        if len(vectors) == len(chunks):
            return {embedding_key(c.embedding_text()): vectors[i] for i, c in enumerate(chunks)}
    return {}


def _write_jsonl(path: Path, records: list[Chunk] | list[SourceDocument]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(record.model_dump_json() + "\n")


def _read_corpus(
    settings: Settings,
) -> tuple[
    list[SourceDocument],
    list[IngestProblem],
    list[tuple[SourceDocument, list[Block]]],
    FactStore,
    CorpusProfile,
]:
    """The corpus's documents, their blocks and facts, read with its profile; what went wrong
    with each file, and a warning for each document that yields no fact."""
    try:
        documents, problems = load_corpus(settings.corpus_dir, settings.max_file_bytes)
        aliases = load_aliases(settings.corpus_dir)
    except IngestError as exc:  # the corpus as a whole (its directory, metadata.json)
        raise IndexUnavailableError(str(exc)) from exc
    if not documents:
        raise IndexUnavailableError(f"no readable document in {settings.corpus_dir}")
    try:
        profile = load_profile(profile_path(settings.corpus_dir, settings.profile_path))
    except ProfileError as exc:
        raise IndexUnavailableError(str(exc)) from exc
    parsed = [(d, parse_blocks(d.text, profile)) for d in documents]
    facts = extract_facts(parsed, aliases, profile)
    yielding = {f.provenance.doc_id for f in facts.facts}
    problems += [
        IngestProblem(
            path=d.path,
            severity="warning",
            reason="no fact extracted (no contact, amount, person or role found): "
            "answered from its passages only",
        )
        for d in documents
        if d.doc_id not in yielding
    ]
    return documents, problems, parsed, facts, profile


def build_index(
    settings: Settings, embedder: Embedder, progress: bool = False, wait_s: float = 0
) -> BuildReport:
    """Read the corpus, chunk, embed what changed, and publish a new build atomically.

    A build already running on the same index directory is waited for up to ``wait_s``
    seconds; this one then reuses its vectors."""
    import faiss

    index_dir = settings.index_dir
    timings: dict[str, float] = {}
    with _build_lock(index_dir, wait_s):
        builds = index_dir / BUILDS
        builds.mkdir(parents=True, exist_ok=True)
        for stale in builds.glob(".*.partial"):
            shutil.rmtree(stale, ignore_errors=True)
        build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        partial = builds / f".{build_id}.partial"
        partial.mkdir()

        started = time.perf_counter()
        try:
            documents, problems, parsed, facts, profile = _read_corpus(settings)
        except IndexUnavailableError:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        chunks = [
            c
            for d, blocks in parsed
            for c in chunk_document(
                d,
                settings.chunk_target_chars,
                settings.chunk_max_chars,
                settings.chunk_overlap_chars,
                blocks,
            )
        ]
        timings["load_and_chunk"] = time.perf_counter() - started

        started = time.perf_counter()
        cache = _previous_embeddings(index_dir, embedder)
        texts = [c.embedding_text() for c in chunks]
        vectors = np.empty((len(chunks), embedder.dimension), dtype=np.float32)
        missing = []
        for i, text in enumerate(texts):
            cached = cache.get(embedding_key(text))
            if cached is None:
                missing.append(i)
            else:
                vectors[i] = cached
        with tqdm(
            total=len(missing), desc="Embedding chunks", unit="chunk", disable=not progress
        ) as bar:
            fresh = embedder.embed_passages([texts[i] for i in missing], progress=bar.update)
        if missing:
            vectors[missing] = fresh
        timings["embed"] = time.perf_counter() - started

        started = time.perf_counter()
        dense, dense_kind = make_dense_index(vectors, settings)
        faiss.write_index(dense, str(partial / DENSE))
        make_bm25(chunks).save(str(partial / BM25))
        _write_jsonl(partial / CHUNKS, chunks)
        _write_jsonl(partial / DOCUMENTS, documents)
        (partial / FACTS).write_text(facts.model_dump_json(indent=1), encoding="utf-8")
        (partial / PROFILE).write_text(profile.model_dump_json(indent=1), encoding="utf-8")
        timings["index"] = time.perf_counter() - started

        manifest = Manifest(
            format_version=FORMAT_VERSION,
            build_id=build_id,
            created_at=datetime.now(UTC),
            package_version=__version__,
            embedding=EmbeddingInfo(model_id=embedder.model_id, dimension=embedder.dimension),
            dense_index=dense_kind,
            files={d.path: d.content_hash for d in documents},
            artifacts=_artifact_hashes(partial),
            counts={
                "documents": len(documents),
                "chunks": len(chunks),
                "embedded": len(missing),
                "reused": len(chunks) - len(missing),
                "facts": len(facts.facts),
            },
            timings_s={k: round(v, 3) for k, v in timings.items()},
            problems=problems,
        )
        (partial / MANIFEST).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        _fsync_tree(partial)
        final = builds / build_id
        partial.rename(final)
        _publish(index_dir, build_id)
        _prune(builds, keep=settings.keep_builds, current=build_id)
    return BuildReport(
        build_id=build_id,
        path=str(final),
        documents=len(documents),
        chunks=len(chunks),
        embedded=len(missing),
        reused=len(chunks) - len(missing),
        dense_index=dense_kind,
        timings_s=manifest.timings_s,
        problems=problems,
        facts_by_file=_facts_by_file(documents, facts),
    )


def _facts_by_file(documents: list[SourceDocument], facts: FactStore) -> dict[str, dict[str, int]]:
    paths = {d.doc_id: d.path for d in documents}
    counts: dict[str, dict[str, int]] = {d.path: {} for d in documents}
    for fact in facts.facts:
        kinds = counts[paths[fact.provenance.doc_id]]
        kinds[fact.type] = kinds.get(fact.type, 0) + 1
    return counts


def _publish(index_dir: Path, build_id: str) -> None:
    pointer = index_dir / f".{CURRENT}.tmp"
    with pointer.open("w", encoding="utf-8") as f:
        f.write(build_id + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(pointer, index_dir / CURRENT)
    _fsync(index_dir)


def complete_builds(builds: Path) -> list[Path]:
    """Finished builds, oldest first (build ids start with their UTC time)."""
    if not builds.is_dir():
        return []
    return sorted(p for p in builds.iterdir() if p.is_dir() and not p.name.startswith("."))


def _prune(builds: Path, keep: int, current: str) -> None:
    for old in complete_builds(builds)[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def named_build(index_dir: Path) -> str:
    """The build id ``CURRENT`` names; :class:`IndexUnavailableError` if there is none or the
    pointer is not a build id (bytes that are not UTF-8, a path)."""
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexUnavailableError(f"no index in {index_dir}: build one with `cancerassist index`")
    try:
        named = pointer.read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexUnavailableError(f"{pointer} is unreadable ({exc})") from exc
    if not _BUILD_ID.fullmatch(named):
        raise IndexUnavailableError(f"{pointer} does not name a build ({named[:40]!r})")
    return named


def current_build(index_dir: Path) -> Path:
    build_dir = index_dir / BUILDS / named_build(index_dir)
    if not build_dir.is_dir():
        raise IndexUnavailableError(
            f"{index_dir / CURRENT} names a missing build {build_dir.name}; rebuild the index"
        )
    return build_dir


def read_manifest(build_dir: Path) -> Manifest:
    try:
        return Manifest.model_validate_json((build_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexUnavailableError(f"unreadable manifest in {build_dir}: {exc}") from exc


def check_compatible(manifest: Manifest, embedder: Embedder) -> None:
    built = manifest.embedding
    if built.model_id != embedder.model_id or built.dimension != embedder.dimension:
        raise IndexUnavailableError(
            f"the index was built with {built.model_id} ({built.dimension} dimensions) but the "
            f"configured embedder is {embedder.model_id} ({embedder.dimension} dimensions); "
            "rebuild it with `cancerassist index` or configure the same embedder"
        )


def check_build(build_dir: Path, embedder: Embedder | None = None) -> Manifest:
    """The build's manifest, if the build is complete, of this format, made by ``embedder``
    (when given) and unaltered since; otherwise :class:`IndexUnavailableError` says why."""
    manifest = read_manifest(build_dir)
    if embedder is not None:
        check_compatible(manifest, embedder)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexUnavailableError(
            f"build {build_dir.name} has format {manifest.format_version}, this version of "
            f"cancerassist reads format {FORMAT_VERSION}; rebuild it with `cancerassist index`"
        )
    actual = _artifact_hashes(build_dir)
    if actual != manifest.artifacts:
        damaged = sorted(set(actual.items()) ^ set(manifest.artifacts.items()))
        raise IndexUnavailableError(
            f"build {build_dir.name} is damaged (files differ from its manifest: "
            f"{', '.join(sorted({name for name, _ in damaged}))}); rebuild the index"
        )
    return manifest


def _candidates(index_dir: Path) -> tuple[list[Path], list[str]]:
    """Builds to try, the one ``CURRENT`` names first, then the others newest first; and why
    the one it names cannot even be tried."""
    refusals: list[str] = []
    first: list[Path] = []
    try:
        first = [current_build(index_dir)]
    except IndexUnavailableError as exc:
        if not (index_dir / CURRENT).exists():
            raise
        refusals.append(str(exc))
    others = [b for b in reversed(complete_builds(index_dir / BUILDS)) if b not in first]
    return first + others, refusals


def _why(refusals: list[str]) -> str | None:
    """Why the builds newer than the one served were refused: each of them, not only the one
    ``CURRENT`` names, or a damaged build passed over would go unreported."""
    return "; ".join(refusals) or None


def _every_build_refused(index_dir: Path, refusals: list[str]) -> str:
    return f"no good build in {index_dir}: " + "; ".join(refusals or ["no build"])


def load_facts(index_dir: Path) -> FactStore:
    """The fact store of the newest build whose files match its manifest and whose facts read,
    the one ``CURRENT`` names first (:func:`load_index` reads the other files too)."""
    candidates, refusals = _candidates(index_dir)
    for build_dir in candidates:
        try:
            check_build(build_dir)
            return _read_facts(build_dir)
        except IndexUnavailableError as exc:
            refusals.append(str(exc))
    raise IndexUnavailableError(_every_build_refused(index_dir, refusals))


def _read_facts(build_dir: Path) -> FactStore:
    return _read_json(build_dir, FACTS, FactStore)


def _read_json(build_dir: Path, name: str, model: type[M]) -> M:
    """The record the JSON file ``name`` of ``build_dir`` holds (see :func:`_read_file`)."""
    path = build_dir / name
    return _read_file(build_dir, name, lambda: model.model_validate_json(path.read_text("utf-8")))


def _read_jsonl(build_dir: Path, name: str, model: type[M]) -> list[M]:
    """The records, one per line, of the file ``name`` of ``build_dir``."""

    def read() -> list[M]:
        with (build_dir / name).open(encoding="utf-8") as f:
            return [model.model_validate_json(line) for line in f]

    return _read_file(build_dir, name, read)


def _read_file(build_dir: Path, name: str, read: Callable[[], T]) -> T:
    """What ``read`` reads from the file ``name`` of ``build_dir``. Whatever a damaged file
    makes its reader raise refuses the build, not the service: faiss raises RuntimeError, numpy
    EOFError for an empty array, bm25s TypeError or AttributeError for parameters of the wrong
    shape, pydantic and json ValueError."""
    try:
        return read()
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise IndexUnavailableError(
            f"build {build_dir.name} is unreadable: {name}: {first_line[:200]}"
        ) from exc


def load_index(
    index_dir: Path,
    embedder: Embedder,
    hnsw_ef_search: int = Settings.model_fields["hnsw_ef_search"].default,
) -> SearchIndex:
    """Load the build named by ``CURRENT``. A build that was made by another model, altered,
    or whose files do not hold together once read (a manifest re-hashed over a truncated vector
    file, a flat index relabelled HNSW) is refused, and the newest good previous build is served
    (``SearchIndex.refused`` says why, and the log); with none, :class:`IndexUnavailableError`
    gives every build's reason in one line."""
    candidates, refusals = _candidates(index_dir)
    for build_dir in candidates:
        try:
            manifest = check_build(build_dir, embedder)
            index = _read_build(build_dir, manifest, embedder, hnsw_ef_search)
        except IndexUnavailableError as exc:
            refusals.append(str(exc))
            continue
        index.refused = _why(refusals)
        if index.refused:
            log.warning("%s; serving the previous good build %s", index.refused, build_dir.name)
        return index
    raise IndexUnavailableError(_every_build_refused(index_dir, refusals))


def _read_build(
    build_dir: Path, manifest: Manifest, embedder: Embedder, hnsw_ef_search: int
) -> SearchIndex:
    """A build's files read and checked against each other and the embedder."""
    import bm25s
    import faiss

    chunks = _read_jsonl(build_dir, CHUNKS, Chunk)
    documents = {d.doc_id: d for d in _read_jsonl(build_dir, DOCUMENTS, SourceDocument)}
    dense: Any = _read_file(build_dir, DENSE, lambda: faiss.read_index(str(build_dir / DENSE)))
    bm25 = _read_file(build_dir, BM25, lambda: bm25s.BM25.load(str(build_dir / BM25)))
    facts = _read_facts(build_dir)
    profile = _read_json(build_dir, PROFILE, CorpusProfile)
    index = SearchIndex(
        path=build_dir,
        manifest=manifest,
        chunks=chunks,
        documents=documents,
        dense=dense,
        bm25=bm25,
        facts=facts,
        profile=profile,
    )
    kind = _dense_kind(dense)
    problems = _inconsistencies(index, embedder, kind)
    if problems:
        raise IndexUnavailableError(f"build {build_dir.name} is damaged: " + "; ".join(problems))
    if kind == "hnsw":
        dense.hnsw.efSearch = hnsw_ef_search
    return index


def _dense_kind(dense: Any) -> str:
    """What the vector file holds, in the manifest's words where it is one of ours."""
    import faiss

    if dense.metric_type != faiss.METRIC_INNER_PRODUCT:
        return f"{type(dense).__name__} (not inner product)"
    if isinstance(dense, faiss.IndexHNSWFlat):
        return "hnsw"
    return "flat" if isinstance(dense, faiss.IndexFlat) else type(dense).__name__


def _inconsistencies(index: SearchIndex, embedder: Embedder, kind: str) -> list[str]:
    """How a build's files, each readable, fail to hold together: a file from another build or
    cut short, re-hashed into the manifest, would otherwise fail at query time (a vector or a
    BM25 score with no chunk, a chunk or a fact whose document is missing). ``kind``: what
    the vector file holds (:func:`_dense_kind`)."""
    manifest, chunks, documents = index.manifest, index.chunks, index.documents
    dense, bm25, facts = index.dense, index.bm25, index.facts
    chunk_docs = {c.doc_id for c in chunks}
    fact_docs = {f.provenance.doc_id for f in facts.facts}
    checks = [
        (dense.ntotal != len(chunks), f"{dense.ntotal} vectors for {len(chunks)} chunks"),
        (
            dense.d != embedder.dimension,
            f"vectors of {dense.d} dimensions, the embedder makes {embedder.dimension}",
        ),
        (
            kind != manifest.dense_index,
            f"its manifest says {manifest.dense_index} but the index is {kind}",
        ),
        (
            manifest.counts.get("chunks", len(chunks)) != len(chunks),
            f"{manifest.counts.get('chunks')} chunks in its manifest, {len(chunks)} in its files",
        ),
        (
            manifest.counts.get("documents", len(documents)) != len(documents),
            f"{manifest.counts.get('documents')} documents in its manifest, "
            f"{len(documents)} in its files",
        ),
        (
            bm25.scores.get("num_docs") != len(chunks),
            f"a BM25 index of {bm25.scores.get('num_docs')} passages for {len(chunks)} chunks",
        ),
        (
            not chunk_docs <= documents.keys(),
            f"chunks of {len(chunk_docs - documents.keys())} missing documents",
        ),
        (
            not fact_docs <= documents.keys(),
            f"facts from {len(fact_docs - documents.keys())} missing documents",
        ),
    ]
    return [problem for failed, problem in checks if failed]


class BuildJob(BaseModel):
    """A re-index started by :class:`Rebuilder`: where it stands, and its report once built."""

    job_id: str
    status: Literal["running", "succeeded", "failed"]
    started_at: datetime
    finished_at: datetime | None = None
    report: BuildReport | None = None
    error: str | None = None


class Rebuilder:
    """Rebuilds the index in the background, one build at a time, and hands each new build to
    ``on_built`` (which swaps it into service).

    The build is ``cancerassist index`` in a child process at lower CPU priority: its embedding
    does not hold this process's GIL while queries are answered, and a crash or a kill of the
    build leaves the service and the published builds as they were.

    Example::

        rebuilder = Rebuilder(settings, on_built=lambda report: service.reload())
        job = rebuilder.start()  # None if a build is already running
    """

    def __init__(
        self,
        settings: Settings,
        on_built: Callable[[BuildReport], object],
        wait_s: float = 600,
    ) -> None:
        self.settings = settings
        self.on_built = on_built
        self.wait_s = wait_s
        self.job: BuildJob | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()

    def start(self) -> BuildJob | None:
        with self._lock:
            if self.job is not None and self.job.status == "running":
                return None
            job = BuildJob(
                job_id=secrets.token_hex(8), status="running", started_at=datetime.now(UTC)
            )
            self.job = job
            self._done.clear()
        threading.Thread(target=self._run, args=(job,), name="rebuild", daemon=True).start()
        return job

    def wait(self, timeout: float | None = None) -> BuildJob | None:
        """The last job, once it has finished (or when ``timeout`` runs out)."""
        self._done.wait(timeout)
        return self.job

    def _run(self, job: BuildJob) -> None:
        command = ["nice", "-n", "10", sys.executable, "-m", "cancerassist", "index", "--json"]
        # A build started by hand is finished first rather than failing the job.
        command += ["--wait", str(self.wait_s)]
        update: dict[str, Any]
        try:
            done = subprocess.run(
                command,
                env={**os.environ, **settings_env(self.settings)},
                capture_output=True,
                text=True,
                check=False,
                timeout=self.settings.reindex_timeout_s,
            )
            if done.returncode != 0:
                lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
                raise IndexUnavailableError(lines[-1].removeprefix("error: "))
            report = BuildReport.model_validate_json(done.stdout.strip().splitlines()[-1])
            self.on_built(report)
            update = {"status": "succeeded", "report": report}
        except subprocess.TimeoutExpired:  # the build was killed; the current one serves on
            update = {
                "status": "failed",
                "error": f"the re-index took more than {self.settings.reindex_timeout_s:g} s "
                "and was stopped; the current build is still served",
            }
        except Exception as exc:  # whatever went wrong is reported on the job, not lost
            update = {"status": "failed", "error": str(exc)}
        self.job = job.model_copy(update={**update, "finished_at": datetime.now(UTC)})
        self._done.set()
