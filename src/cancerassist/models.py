"""Records that cross a module or process boundary (index files, CLI JSON, API)."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

Language = Literal["fr", "en"]
BlockKind = Literal["heading", "paragraph", "list", "table"]
ContactPurpose = Literal["technology_transfer"]
DenseKind = Literal["flat", "hnsw"]
Trust = Literal["official", "third-party"]


class DocumentMeta(BaseModel):
    """What ``corpus/metadata.json`` says about one file; every field is optional."""

    title: str | None = None
    language: Language | None = None
    description: str | None = None
    source_type: str | None = None
    subject: str | None = Field(
        default=None,
        description="The organisation or project the document is about ('the project')",
    )
    trust: Trust | None = Field(
        default=None,
        description="'official' sources are preferred where documents disagree; "
        "'third-party' ones come after the others",
    )


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
    subject: str = ""
    trust: Trust | None = None
    content_hash: str
    text: str
    page_starts: list[int] = Field(
        default=[], description="Offset in text where each page starts (paged formats only)"
    )

    def page_at(self, offset: int) -> int | None:
        """The page (from 1) that holds ``offset``, for a paged document."""
        if not self.page_starts:
            return None
        return bisect_right(self.page_starts, offset)


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
    anchors: list[tuple[int, int]] = Field(
        description="(position in text, offset in the document) wherever the mapping jumps; "
        "between anchors both advance together (see chunk.source_offset)"
    )
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
    dense_score: float | None = Field(default=None, description="Cosine similarity to the query")
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


# ---------------------------------------------------------------------------------------------
# Facts: typed records extracted at index time, each with the exact span it was read from.


class Provenance(BaseModel):
    doc_id: str
    start: int
    end: int
    quote: str = Field(description="The source text at [start, end), verbatim")


class Contact(BaseModel):
    type: Literal["contact"] = "contact"
    organisation: str
    person: str | None = None
    email: str | None = None
    phone: str | None = Field(default=None, description="E.164, e.g. +33141105000")
    phone_text: str | None = Field(default=None, description="The number as written")
    url: str | None = None
    address: str | None = None
    purpose: ContactPurpose | None = Field(
        default=None, description="What the contact is for, from the heading it is listed under"
    )
    provenance: Provenance


class Funding(BaseModel):
    type: Literal["funding"] = "funding"
    funder: str | None
    recipient: str | None
    amount: Decimal
    amount_text: str
    # The ISO 4217 code of the amount's currency where the text writes one ("GBP" for
    # "£2.5m"); none when it does not (a column of figures under "Montant").
    currency: str | None = None
    year: int | None = None
    period_start: int | None = None
    period_end: int | None = None
    programme: str | None = None
    # What the amount is for, where a table has a column for it ("niveau national").
    purpose: str | None = None
    kind: Literal["grant", "budget", "funds_raised", "investment", "membership_fee"] = "grant"
    provenance: Provenance


class PartnerRole(BaseModel):
    type: Literal["partner"] = "partner"
    project: str
    organisation: str
    country: str | None = None
    role: Literal["coordinator", "partner", "associated_partner", "third_party"]
    person: str | None = None
    description: str | None = None
    provenance: Provenance


class Person(BaseModel):
    type: Literal["person"] = "person"
    name: str
    title: str | None = None
    affiliation: str | None = None
    role: str | None = None
    provenance: Provenance


class Biobank(BaseModel):
    type: Literal["biobank"] = "biobank"
    name: str
    establishment: str
    responsible: str
    provenance: Provenance


class Project(BaseModel):
    type: Literal["project"] = "project"
    name: str
    programme: str | None = None
    start_year: int | None = None
    end_year: int | None = None
    provenance: Provenance


class Figure(BaseModel):
    """A key figure of a brochure: a count, a ratio or an amount with what it measures."""

    type: Literal["figure"] = "figure"
    subject: str | None
    value: Decimal
    value_text: str
    label: str
    provenance: Provenance


class Measure(BaseModel):
    """One figure of a table: the value at a row and a column, with both labels as written.
    The row is the one the provenance spans, so a citation shows the whole line."""

    type: Literal["measure"] = "measure"
    table: str = Field(description="Which table of the document: its header row's offset")
    caption: str
    row: str
    # Leading label cells that group rows ("Section" beside "Category"), if any.
    group: str | None = None
    column: str
    value: Decimal
    value_text: str
    percent: bool = False
    # A total row of the table ("Grand Total"): left out of sums and rankings.
    is_total: bool = False
    provenance: Provenance


Fact = Annotated[
    Contact | Funding | PartnerRole | Person | Biobank | Project | Figure | Measure,
    Field(discriminator="type"),
]
FactType = Literal[
    "contact", "funding", "partner", "person", "biobank", "project", "figure", "measure"
]


class FactStore(BaseModel):
    facts: list[Fact] = []
    aliases: dict[str, list[str]] = Field(default={}, description="Other names of an organisation")

    def of_type(self, kind: FactType) -> list[Fact]:
        return [f for f in self.facts if f.type == kind]


# ---------------------------------------------------------------------------------------------
# Chat: what the API and the widget exchange.

MAX_MESSAGE_CHARS = 2000
MAX_MESSAGES = 40
# The whole conversation sent back with each question: follow-ups need the last few turns,
# not an unbounded transcript.
MAX_HISTORY_CHARS = 16_000


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class ChatRequest(BaseModel):
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=MAX_MESSAGES,
        description=f"The conversation, oldest first, {MAX_HISTORY_CHARS} characters in all at "
        "most, with at least one user message",
        json_schema_extra={"contains": {"properties": {"role": {"const": "user"}}}},
    )
    language: Language | None = Field(
        default=None, description="Answer language; detected if absent"
    )

    @model_validator(mode="after")
    def _bounded_conversation(self) -> ChatRequest:
        total = sum(len(m.content) for m in self.messages)
        if total > MAX_HISTORY_CHARS:
            raise ValueError(
                f"the conversation has {total} characters, {MAX_HISTORY_CHARS} at most: "
                "send only the last turns"
            )
        if not any(m.role == "user" for m in self.messages):
            raise ValueError("the conversation has no user message to answer")
        return self


class Citation(BaseModel):
    doc_id: str
    title: str
    section: str
    snippet: str = Field(description="The source text at [start, end), verbatim (maybe shortened)")
    start: int
    end: int
    score: float
    page: int | None = Field(default=None, description="The page it is on (PDF), from 1")


class ConflictValue(BaseModel):
    """One document's value for a slot that another document gives differently."""

    value: str
    doc_id: str
    title: str
    start: int
    end: int
    trust: Trust | None = None
    domain_mismatch: bool = Field(
        default=False, description="An e-mail or web address whose domain is not the entity's"
    )


class Conflict(BaseModel):
    """Documents that disagree on one slot of one entity (a contact's e-mail, a year's amount),
    or a value that does not fit its entity: the answer gives the first value, all are listed."""

    kind: Literal["sources_disagree", "domain_mismatch"]
    entity: str
    slot: Literal["email", "url", "phone", "amount"]
    values: list[ConflictValue]


class ChatResponse(BaseModel):
    answer: str
    language: Language
    status: Literal["answered", "no_answer"]
    citations: list[Citation]
    conflicts: list[Conflict] = Field(
        default=[], description="Sources that disagree on what the answer states"
    )
    facts: list[Fact] = []
    message_id: str
    timings_ms: dict[str, float] = {}
