"""Records that cross a module or process boundary (index files, CLI JSON, API)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Language = Literal["fr", "en"]
BlockKind = Literal["heading", "paragraph", "list", "table"]
DenseKind = Literal["flat", "hnsw"]


class DocumentMeta(BaseModel):
    """What ``corpus/metadata.json`` says about one file; every field is optional."""

    title: str | None = None
    language: Language | None = None
    description: str | None = None
    source_type: str | None = None


class SourceDocument(BaseModel):
    """A corpus file as read: ``text`` is what every span points into.

    For ``.txt`` and ``.md`` files it is the file itself; for ``.html`` and ``.pdf`` it is the
    extracted text (the service serves it back so a citation can be opened at its span).
    """

    doc_id: str
    path: str
    title: str
    language: Language
    description: str = ""
    source_type: str = ""
    content_hash: str
    text: str


class IngestProblem(BaseModel):
    """A file that was skipped (``error``) or read with a caveat (``warning``)."""

    path: str
    severity: Literal["error", "warning"]
    reason: str


class Chunk(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    section: str
    language: Language
    kind: BlockKind
    text: str
    start: int = Field(description="Start offset of the chunk in its document's text")
    end: int = Field(description="End offset (exclusive) of the chunk in its document's text")
    # (position in ``text``, offset in the source) at every point where the mapping jumps;
    # between anchors the mapping advances one for one. See ``chunk.source_offset``.
    anchors: list[tuple[int, int]]
    table_header: str | None = None

    def embedding_text(self) -> str:
        """Title and section give the model the context a bare passage lacks."""
        lead = self.text[: len(self.section) + 8]
        headings = self.section.split(" › ")
        # The first chunk of a section already opens with its heading lines.
        section = "" if all(h in lead for h in headings) else self.section
        return "\n".join(p for p in (self.title, section, self.text) if p)


class SearchHit(BaseModel):
    chunk: Chunk
    score: float
    rank: int
    dense_rank: int | None = None
    bm25_rank: int | None = None


class EmbeddingInfo(BaseModel):
    model_id: str
    dimension: int


class Manifest(BaseModel):
    format_version: int = 1
    build_id: str
    created_at: datetime
    package_version: str
    embedding: EmbeddingInfo
    dense_index: DenseKind
    files: dict[str, str] = Field(description="Corpus file path -> sha256 of its bytes")
    artifacts: dict[str, str] = Field(description="Artifact file -> sha256, checked at load")
    counts: dict[str, int]
    timings_s: dict[str, float]
    problems: list[IngestProblem] = []


class SearchResult(BaseModel):
    query: str
    hits: list[SearchHit]
    timings_ms: dict[str, float]
