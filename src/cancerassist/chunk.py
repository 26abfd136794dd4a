"""Cut structured blocks into retrieval chunks that keep their title, section and source span.

Rules: a heading starts a new chunk (unless the chunk so far is a fragment too small to stand
alone, such as a figure caption); a chunk is cut between sentences, list items or table rows,
never inside one; a table stays with its header line (repeated in every piece of a long table);
a paragraph too long for one chunk is split with a sentence of overlap.

Example::

    chunks = chunk_document(document, target_chars=750, max_chars=1000, overlap_chars=150)
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

from cancerassist.ingest import Block, MappedText, parse_blocks
from cancerassist.models import BlockKind, Chunk, SourceDocument
from cancerassist.text import detect_language

SECTION_SEPARATOR = " › "
# Below this many letters langdetect guesses; the document's language is the better answer.
_MIN_LETTERS_FOR_DETECTION = 120


@dataclass
class _Draft:
    section: str = ""
    parts: list[MappedText] = field(default_factory=list)
    kinds: list[BlockKind] = field(default_factory=list)
    table_header: str | None = None

    @property
    def size(self) -> int:
        return sum(len(p.text) + 1 for p in self.parts)

    @property
    def has_content(self) -> bool:
        return any(kind != "heading" for kind in self.kinds)

    def add(self, kind: BlockKind, text: MappedText, section: str) -> None:
        if not self.parts:
            self.section = section
        self.parts.append(text)
        self.kinds.append(kind)


def _pack(
    segments: list[MappedText], joiner: str, limit: int, overlap: int
) -> Iterator[MappedText]:
    """Greedy packing of segments into pieces of at most ``limit`` characters."""
    piece: list[MappedText] = []
    length = 0
    for segment in _split_oversized(segments, limit):
        if piece and length + len(joiner) + len(segment.text) > limit:
            yield MappedText.join(piece, joiner)
            tail = piece[-1]
            piece = [tail] if overlap and len(tail.text) <= overlap else []
            length = len(tail.text) if piece else 0
        piece.append(segment)
        length += len(segment.text) + (len(joiner) if len(piece) > 1 else 0)
    if piece:
        yield MappedText.join(piece, joiner)


def _split_oversized(segments: list[MappedText], limit: int) -> Iterator[MappedText]:
    """A single sentence or row longer than a chunk is cut at the last space before the limit.

    The cuts are found in the segment's text in one pass: slicing off the rest at every cut
    copied a long unpunctuated line over and over (quadratic in its length)."""
    for segment in segments:
        text = segment.text
        stripped_end = len(text.rstrip())
        start, end = 0, len(text)
        while end - start > limit:
            space = text.rfind(" ", start, start + limit)
            cut = space - start if space - start > limit // 2 else limit
            yield segment.slice(start, start + cut).strip()
            start += cut
            while start < end and text[start].isspace():
                start += 1
            end = stripped_end  # what follows a cut is stripped at both ends
        if start == 0:
            if text:
                yield segment
        elif start < end:
            yield segment.slice(start, end)


def anchors_of(offsets: list[int]) -> list[tuple[int, int]]:
    anchors: list[tuple[int, int]] = []
    for position, offset in enumerate(offsets):
        if not anchors or offset != offsets[position - 1] + 1:
            anchors.append((position, offset))
    return anchors


def source_offset(chunk: Chunk, position: int) -> int:
    """Offset in the document text of the character at ``position`` in ``chunk.text``."""
    index = bisect_right(chunk.anchors, (position, float("inf"))) - 1
    at, offset = chunk.anchors[max(index, 0)]
    return offset + (position - at)


class _Chunker:
    def __init__(self, document: SourceDocument, target: int, maximum: int, overlap: int) -> None:
        self.document = document
        self.target, self.maximum, self.overlap = target, maximum, overlap
        self.chunks: list[Chunk] = []
        self.draft = _Draft()
        self.headings: list[str] = []
        self.section = ""
        self.minimum = target // 4
        self.previous_kind: BlockKind | None = None

    def run(self, blocks: list[Block]) -> list[Chunk]:
        for block in blocks:
            self.add(block)
            self.previous_kind = block.kind
        self.flush()
        return self.chunks

    def add(self, block: Block) -> None:
        mapped = block.mapped()
        if block.kind == "heading":
            # Headings close a chunk, except after a fragment too small to stand alone (figure
            # captions, timelines), which then absorbs what follows.
            if self.draft.has_content and self.draft.size >= self.minimum:
                self.flush()
            if self.previous_kind != "heading":
                self.headings = []
            self.headings.append(mapped.text)
            self.section = SECTION_SEPARATOR.join(self.headings)
            self.draft.add("heading", mapped, self.section)
        elif block.kind == "table":
            self.add_table(block)
        else:
            if self.draft.has_content and self.draft.size + len(mapped.text) > self.target:
                self.flush()
            if self.draft.size + len(mapped.text) <= self.maximum:
                self.draft.add(block.kind, mapped, self.section)
                return
            overlap = self.overlap if block.kind == "paragraph" else 0
            for piece in _pack(block.segments, block.joiner, self.target, overlap):
                if self.draft.has_content or self.draft.size + len(piece.text) > self.maximum:
                    self.flush()
                self.draft.add(block.kind, piece, self.section)

    def add_table(self, block: Block) -> None:
        """Tables get chunks of their own, each piece led by the header line."""
        assert block.header is not None
        if self.draft.has_content:
            self.flush()
        header = block.header
        limit = max(self.maximum - self.draft.size - len(header.text) - 1, self.target // 2)
        for piece in _pack(block.segments, "\n", limit, 0):
            self.draft.add("table", MappedText.join([header, piece], "\n"), self.section)
            self.draft.table_header = header.text
            self.flush()

    def flush(self) -> None:
        draft = self.draft
        self.draft = _Draft()
        if not draft.parts:
            return
        mapped = MappedText.join(draft.parts, "\n")
        content_kinds: list[BlockKind] = [k for k in draft.kinds if k != "heading"] or ["heading"]
        kind: BlockKind = (
            "table"
            if "table" in content_kinds
            else max(set(content_kinds), key=content_kinds.count)
        )
        letters = sum(c.isalpha() for c in mapped.text)
        language = (
            detect_language(mapped.text, self.document.language)
            if letters >= _MIN_LETTERS_FOR_DETECTION and kind != "table"
            else self.document.language
        )
        self.chunks.append(
            Chunk(
                chunk_id=f"{self.document.doc_id}:{len(self.chunks)}",
                doc_id=self.document.doc_id,
                title=self.document.title,
                section=draft.section,
                language=language,
                kind=kind,
                text=mapped.text,
                start=min(mapped.offsets),
                end=max(mapped.offsets) + 1,
                anchors=anchors_of(mapped.offsets),
                table_header=draft.table_header,
            )
        )


def chunk_document(
    document: SourceDocument,
    target_chars: int = 750,
    max_chars: int = 1000,
    overlap_chars: int = 150,
    blocks: list[Block] | None = None,
) -> list[Chunk]:
    """Chunks of ``document``; pass its ``blocks`` if they were already parsed."""
    blocks = parse_blocks(document.text) if blocks is None else blocks
    return _Chunker(document, target_chars, max(max_chars, target_chars), overlap_chars).run(blocks)
