"""Load corpus files and recover their structure: headings, paragraphs, lists and tables.

Text extracted from PDFs and web pages arrives as broken lines: paragraphs wrapped mid-sentence,
words hyphen-split across lines, bullets rendered as ``l``, tables flattened to lines of cells.
:func:`parse_blocks` rebuilds clean blocks and keeps, for every character of the clean text, its
offset in the original, so a citation can always point at the exact source span.

Example::

    documents, problems = load_corpus(Path("corpus"))
    blocks = parse_blocks(documents[0].text)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cancerassist.models import BlockKind, DocumentMeta, IngestProblem, Language, SourceDocument
from cancerassist.profile import NEUTRAL, PROFILE_FILE, CorpusProfile
from cancerassist.readers import (
    CELL,
    ReadError,
    csv_to_text,
    docx_to_text,
    markdown_to_html,
    xlsx_to_text,
)
from cancerassist.text import NOT_A_STOP, detect_language

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".xlsx", ".csv"})
METADATA_FILE = "metadata.json"

# Bullet glyphs at the start of a line. A lone "l" is how PDF text extraction renders the
# Wingdings bullet; no French or English word is a bare "l".
_BULLET = re.compile(r"^(?:[•◦▪‣∙·*>➢►–-]|l)(?=\s)\s*")
_INLINE_BULLET = re.compile(r"(?<=\s)l\s+(?=\S)")
_TERMINAL = '.!?;:…»"”'
_SENTENCE_BREAK = re.compile(
    rf"(?<=[.!?…]){NOT_A_STOP}[\"”»)]?\s+(?=[«\"“(\[•]?\s?[A-ZÀ-ÖØ-Þ0-9])|\n"
)
# A wrapped line of a PDF column is shorter than this; a longer one is a paragraph of its own.
PARAGRAPH_LINE = 160
_HYPHENATED = re.compile(r"\b\w+-\w+\b")
# Words a title does not end on: articles, prepositions, conjunctions.
_DANGLING = re.compile(
    r"(?:le|la|les|l’|l'|de|du|des|d’|d'|à|au|aux|et|ou|par|pour|sur|en|dans|avec|the|of|and|or|"
    r"by|for|to|in|on|with|a|an)",
    re.IGNORECASE,
)


# "<" before a letter, "/", "!" or "?": what a browser or a Markdown renderer reads as a tag.
_TAG_OPENING = re.compile(r"<(?=[A-Za-z/!?])")


class IngestError(Exception):
    """A file that cannot be indexed; the message says why, for the person who added it."""


class MappedText:
    """Clean text plus, for each character, its offset in the source text.

    Built piece by piece (a paragraph line after line, a line token after token): the pieces
    are joined when the text is read, once, rather than copied on every append, which made a
    page written as one long paragraph quadratic (a 2.6 MB file ran for minutes)."""

    def __init__(self, text: str = "", offsets: list[int] | None = None) -> None:
        self._parts = [text] if text else []
        self.offsets = offsets if offsets is not None else []

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def tail(self, n: int) -> str:
        """The last ``n`` characters (fewer if shorter), without joining the whole text."""
        taken: list[str] = []
        length = 0
        for part in reversed(self._parts):
            taken.append(part)
            length += len(part)
            if length >= n:
                break
        return "".join(reversed(taken))[-n:]

    def drop_last(self) -> None:
        """Remove the last character."""
        while self._parts and not self._parts[-1]:
            self._parts.pop()
        if self._parts:
            self._parts[-1] = self._parts[-1][:-1]
            self.offsets.pop()

    def append(self, s: str, source_start: int) -> None:
        self._parts.append(s)
        self.offsets.extend(range(source_start, source_start + len(s)))

    def append_char(self, c: str, source_offset: int) -> None:
        self._parts.append(c)
        self.offsets.append(source_offset)

    def extend(self, other: MappedText, joiner: str = "") -> None:
        if joiner and self.offsets and other.offsets:
            self.append_char(joiner, other.offsets[0])
        self._parts.extend(other._parts)
        self.offsets.extend(other.offsets)

    def slice(self, start: int, end: int) -> MappedText:
        return MappedText(self.text[start:end], self.offsets[start:end])

    def strip(self) -> MappedText:
        left = len(self.text) - len(self.text.lstrip())
        right = len(self.text.rstrip())
        return self.slice(left, right)

    @classmethod
    def join(cls, parts: list[MappedText], joiner: str) -> MappedText:
        out = cls()
        for part in parts:
            out.extend(part, joiner)
        return out


@dataclass
class Block:
    """A structural unit. ``segments`` are the pieces a chunk may be cut between: sentences of a
    paragraph, items of a list, rows of a table (whose ``header`` then travels with every piece).
    """

    kind: BlockKind
    segments: list[MappedText]
    header: MappedText | None = None

    @property
    def joiner(self) -> str:
        return " " if self.kind in ("paragraph", "heading") else "\n"

    def mapped(self) -> MappedText:
        parts = [self.header, *self.segments] if self.header else self.segments
        return MappedText.join(parts, self.joiner)

    @property
    def text(self) -> str:
        return self.mapped().text


@dataclass
class _Line:
    start: int
    content: str  # without trailing whitespace
    soft: bool  # ended by whitespace: a wrapped line whose sentence goes on

    @property
    def bullet(self) -> bool:
        return bool(_BULLET.match(self.content.lstrip()))


# ---------------------------------------------------------------------------------------------
# Reading files


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Decode bytes as UTF-8, else Windows-1252; returns the text and a warning, if any."""
    if b"\x00" in data:
        raise IngestError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    bad = sum(
        1
        for c in text
        if c == "\ufffd" or (unicodedata.category(c) == "Cc" and c not in "\n\r\t\f")
    )
    if bad > max(3, len(text) // 100):
        raise IngestError("undecodable: neither UTF-8 nor Windows-1252 text")
    return text, "not valid UTF-8; read as Windows-1252 (Latin-1)"


class _HTMLText(HTMLParser):
    """Web page text in the layout every reader writes (see readers.py): paragraphs, headings,
    lists and tables apart, list items and table rows one per line, cells set apart."""

    # Tags that end a paragraph (a blank line), and tags that only end a line.
    _PARAGRAPH_TAGS = frozenset(
        "p h1 h2 h3 h4 h5 h6 ul ol table section article header footer title blockquote pre "
        "figcaption".split()
    )
    _LINE_TAGS = frozenset("div br li tr dt dd".split())
    _SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._cells = 0  # cells opened in the current table row
        self._in_cell = 0  # inside a td/th: its paragraphs and line breaks are spaces
        self._breaks = 0  # line breaks owed before the next text: markup lays out, not text

    def _break(self, tag: str) -> None:
        if self._in_cell and tag not in ("tr", "table"):
            if self.parts and not self.parts[-1].endswith(" "):
                self.parts.append(" ")
            return
        if tag in self._PARAGRAPH_TAGS:
            self._breaks = 2
        elif tag in self._LINE_TAGS:
            self._breaks = max(self._breaks, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP_TAGS:
            self._skip += 1
        self._break(tag)
        if tag == "tr":
            self._cells = 0
        elif tag in ("td", "th"):
            if self._cells:
                while self.parts and self.parts[-1] == " ":  # the markup's line breaks
                    self.parts.pop()
                self._write(CELL)
            self._cells += 1
            self._in_cell += 1
        elif tag == "li":
            self._write("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        if tag in ("td", "th"):
            self._in_cell = max(0, self._in_cell - 1)
        elif tag in ("tr", "table"):
            self._in_cell = 0
        self._break(tag)

    def _write(self, text: str) -> None:
        if self.parts and self._breaks:
            self.parts.append("\n" * self._breaks)
        self._breaks = 0
        self.parts.append(text)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = re.sub(r"\s+", " ", data)
        if self._in_cell:
            text = text.replace("|", "／")  # a cell's own bar is not the cell separator
        if text.strip():
            self._write(text.lstrip() if self._breaks or not self.parts else text)
        elif self.parts and not self._breaks:
            self.parts.append(" ")

    def text(self) -> str:
        joined = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(self.parts))
        return re.sub(r"\n{3,}", "\n\n", joined).strip()


def html_to_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return parser.text()


def pdf_to_text(path: Path) -> tuple[str, list[int]]:
    """The pages' text, and where each page starts in it (so a citation can name its page)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path, strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise IngestError(f"broken or unreadable PDF ({type(exc).__name__}: {exc})") from exc
    starts, offset = [], 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + 2
    return "\n\n".join(pages), starts


def read_text(path: Path, data: bytes) -> tuple[str, str | None, list[int]]:
    """The text that spans point into, a warning if it was read with a caveat, and where each
    page starts in it (PDF only)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        if not data.startswith(b"%PDF"):
            raise IngestError("not a PDF file (no %PDF header)")
        text, page_starts = pdf_to_text(path)
        return text, None, page_starts
    try:
        if suffix == ".docx":
            return docx_to_text(path), None, []
        if suffix == ".xlsx":
            return xlsx_to_text(path), None, []
    except ReadError as exc:
        raise IngestError(str(exc)) from exc
    text, warning = decode_text(data)
    if suffix in (".html", ".htm"):
        text = html_to_text(text)
    elif suffix == ".md":
        text = html_to_text(markdown_to_html(text))
    elif suffix == ".csv":
        text = csv_to_text(text)
    return text, warning, []


def _read_metadata(corpus_dir: Path) -> dict[str, Any]:
    """``metadata.json`` as a JSON object; :class:`IngestError` says in one line what is wrong
    with it (where the JSON breaks, or which part has the wrong shape)."""
    path = corpus_dir / METADATA_FILE
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: unreadable ({exc})") from exc
    shapes = {"documents": dict, "aliases": dict}
    wrong = [k for k, shape in shapes.items() if not isinstance(raw.get(k, {}), shape)]
    if not isinstance(raw, dict) or wrong:
        raise IngestError(
            f'{path}: must be an object with "documents" (file name -> its entry) and "aliases" '
            "(name -> list of other names)"
        )
    return raw


def load_aliases(corpus_dir: Path) -> dict[str, list[str]]:
    """Other names of organisations (``aliases`` in ``metadata.json``), to match questions."""
    aliases = _read_metadata(corpus_dir).get("aliases", {})
    for name, others in aliases.items():
        if not isinstance(others, list) or not all(isinstance(o, str) for o in others):
            raise IngestError(
                f'{corpus_dir / METADATA_FILE}: alias "{name}": must be a list of names, '
                f"got {json.dumps(others, ensure_ascii=False)[:80]}"
            )
    return dict(aliases)


def load_metadata(corpus_dir: Path) -> dict[str, DocumentMeta]:
    raw = _read_metadata(corpus_dir)
    metadata = {}
    for name, meta in raw.get("documents", {}).items():
        try:
            metadata[name] = DocumentMeta.model_validate(meta)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(part) for part in first["loc"]) or "entry"
            got = json.dumps(first.get("input"), ensure_ascii=False, default=str)[:80]
            raise IngestError(
                f'{corpus_dir / METADATA_FILE}: entry "{name}": {field}: {first["msg"]}, got {got}'
            ) from exc
    return metadata


def make_doc_id(relative: str, taken: set[str]) -> str:
    """A slug of the path without its file type ("Rapport 2022.pdf" -> "rapport-2022"),
    numbered when two files would share one."""
    suffix = Path(relative).suffix
    if suffix.lower() in SUPPORTED_SUFFIXES:
        relative = relative.removesuffix(suffix)
    stem = re.sub(
        r"[^a-z0-9]+",
        "-",
        unicodedata.normalize("NFKD", relative.lower()).encode("ascii", "ignore").decode(),
    )
    stem = stem.strip("-") or "document"
    doc_id, n = stem, 2
    while doc_id in taken:
        doc_id, n = f"{stem}-{n}", n + 1
    taken.add(doc_id)
    return doc_id


def iter_corpus_files(corpus_dir: Path) -> Iterator[tuple[Path, str | None]]:
    """Every entry below ``corpus_dir`` (hidden ones aside) that is or claims to be a file, with
    why it must be skipped, if it must: only regular files that resolve inside the corpus are
    read, or a symbolic link would publish any file the server can read."""
    root = corpus_dir.resolve()
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(p.startswith(".") for p in relative.parts):
            continue
        if printable_name(str(relative)) != str(relative):
            # Read on, it would fail when the build is written, after all the embedding work.
            yield path, "file name is not valid UTF-8: rename the file; skipped"
        elif path.is_symlink():
            target = path.resolve()
            if not target.exists():
                yield path, "dangling symbolic link; skipped"
            elif not target.is_relative_to(root):
                yield path, "symbolic link to a file outside the corpus directory; skipped"
            elif not target.is_file():
                yield path, "symbolic link to a directory or special file; skipped"
            else:
                yield path, None
        elif path.is_dir():
            continue
        elif not path.is_file():
            yield path, "not a regular file (a named pipe, socket or device); skipped"
        else:
            yield path, None


def neutralise_markup(text: str) -> str:
    """``text`` with every ``<`` that could open a tag written ``‹`` (one character for one, so
    offsets hold): a document's text is plain text, and an escaped ``&lt;img onerror=…&gt;``
    in a web page must not come back as live markup in an answer, a title or a snippet."""
    return _TAG_OPENING.sub("‹", text)


def printable_name(relative: str) -> str:
    """A file name as it can be reported: bytes that are not UTF-8 shown as U+FFFD."""
    return relative.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def load_corpus(
    corpus_dir: Path, max_file_bytes: int
) -> tuple[list[SourceDocument], list[IngestProblem]]:
    """Read every supported file below ``corpus_dir``; report the others instead of failing."""
    if not corpus_dir.is_dir():
        raise IngestError(f"corpus directory not found: {corpus_dir}")
    metadata = load_metadata(corpus_dir)
    documents: list[SourceDocument] = []
    problems: list[IngestProblem] = []
    seen_hashes: dict[str, str] = {}
    taken: set[str] = set()
    for path, skip in iter_corpus_files(corpus_dir):
        relative = path.relative_to(corpus_dir).as_posix()
        if relative in (METADATA_FILE, PROFILE_FILE):
            continue
        if skip is not None:
            problems.append(
                IngestProblem(path=printable_name(relative), severity="error", reason=skip)
            )
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            problems.append(
                IngestProblem(
                    path=relative,
                    severity="warning",
                    reason=f"unsupported file type '{path.suffix}'; skipped",
                )
            )
            continue
        try:
            size = path.stat().st_size
            if size > max_file_bytes:
                raise IngestError(
                    f"file too large ({size:,} bytes; the limit is {max_file_bytes:,})"
                )
            data = path.read_bytes()
            digest = sha256_bytes(data)
            if digest in seen_hashes:
                raise IngestError(f"duplicate of {seen_hashes[digest]}")
            text, warning, page_starts = read_text(path, data)
            text = neutralise_markup(text)
            if not text.strip():
                raise IngestError("empty: no text to index")
        except (IngestError, OSError) as exc:
            problems.append(IngestProblem(path=relative, severity="error", reason=str(exc)))
            continue
        seen_hashes[digest] = relative
        if warning:
            problems.append(IngestProblem(path=relative, severity="warning", reason=warning))
        meta = metadata.get(relative, DocumentMeta())
        language: Language = meta.language or detect_language(text[:5000])
        documents.append(
            SourceDocument(
                doc_id=make_doc_id(relative, taken),
                path=relative,
                title=neutralise_markup(meta.title or guess_title(text, path)),
                language=language,
                description=neutralise_markup(meta.description or ""),
                source_type=meta.source_type or path.suffix.lstrip(".").lower(),
                subject=meta.subject or "",
                trust=meta.trust,
                content_hash=digest,
                text=text,
                page_starts=page_starts,
            )
        )
    return documents, problems


def guess_title(text: str, path: Path) -> str:
    """The first line that may be a title: not too long, opening on a letter, a digit, a
    currency or a quote ("$5 million in new funding…"; "|Icone Imprimer" is a page's print
    button), not a table's row of cells (a spreadsheet's header row names its columns, not the
    document); with the next line when it ends on a word no title ends on (a slide's title
    wrapped after "and")."""
    # (a Markdown heading's marks are no part of its words)
    lines = [raw.strip().lstrip("#").strip() for raw in text.splitlines() if raw.strip("# \t")]
    for i, line in enumerate(lines):
        if (
            3 <= len(line) <= 120
            and (line[0].isalnum() or line[0] in '$€£«“"')
            and CELL not in line
        ):
            last = line.split()[-1]
            if _DANGLING.fullmatch(last) and i + 1 < len(lines) and CELL not in lines[i + 1]:
                return f"{line} {lines[i + 1]}"[:160]
            return line
    return path.stem.replace("-", " ").replace("_", " ")


# ---------------------------------------------------------------------------------------------
# Structure


def split_lines(text: str) -> list[_Line]:
    lines = []
    for match in re.finditer(r"[^\n]*", text):
        raw = match.group()
        if not raw.strip():
            continue
        lead = len(raw) - len(raw.lstrip())
        content = raw.strip()
        lines.append(_Line(match.start() + lead, content, soft=raw != raw.rstrip()))
    return _unwrapped(text, lines)


# A text hard-wrapped at a fixed width (a plain-text mail or page, 60 to 100 columns): most
# lines followed by another line of their paragraph are within this many characters of it.
_WRAP_SLACK = 20
_WRAP_WIDTHS = range(60, 101)
_WRAPPED_SHARE = 0.75
_WRAPPED_LINES = 5


def _unwrapped(text: str, lines: list[_Line]) -> list[_Line]:
    """``lines`` with each line of a hard-wrapped text that reaches the wrap width marked as
    going on in the next one: "…, said: “Cancer Research" / "UK set up…" is one sentence,
    whatever case the next line opens with. Texts not wrapped at one width are left as they
    are (column extracts, flattened tables)."""
    followed = [
        line
        for line, after in itertools.pairwise(lines)
        if not after.bullet and text.count("\n", line.start, after.start) == 1
    ]
    if len(followed) < _WRAPPED_LINES:
        return lines
    lengths = sorted(len(line.content) for line in followed)
    width = lengths[int(0.9 * (len(lengths) - 1))]
    wide = {id(line) for line in followed if len(line.content) >= width - _WRAP_SLACK}
    if width not in _WRAP_WIDTHS or len(wide) < _WRAPPED_SHARE * len(followed):
        return lines
    return [
        _Line(line.start, line.content, soft=True) if id(line) in wide else line for line in lines
    ]


def _runs(text: str, lines: list[_Line], profile: CorpusProfile) -> list[list[_Line]]:
    """Groups of consecutive lines, split at blank lines (and at dropped boilerplate)."""
    runs: list[list[_Line]] = []
    previous_end = -2
    for line in lines:
        if profile.is_boilerplate(line.content):
            previous_end = -2
            continue
        gap = text[previous_end : line.start] if previous_end >= 0 else "\n\n"
        if gap.count("\n") >= 2 or previous_end < 0:
            runs.append([])
        runs[-1].append(line)
        previous_end = line.start + len(line.content)
    return runs


def _is_cell_table(run: list[_Line]) -> bool:
    """Rows whose cells a reader set apart (HTML, Markdown, Word, spreadsheets, CSV); an
    empty first or last cell leaves a bar at the edge of its line ("2022 |")."""
    return len(run) >= 2 and all(
        CELL in line.content or line.content.startswith("| ") or line.content.endswith(" |")
        for line in run
    )


def _is_table(run: list[_Line]) -> bool:
    if _is_cell_table(run):
        return True
    if len(run) < 3:
        return False
    for line in run:
        if (
            line.soft
            or line.bullet
            or len(line.content) > 200
            or line.content[-1] in _TERMINAL + ","
        ):
            return False
    return True


def _is_header_less_list(run: list[_Line]) -> bool:
    """Lines that all open on the same word (``Institut X`` / ``Institut Y``): a list, not a
    table."""
    first = run[0].content.split()[0].lower()
    return sum(line.content.split()[0].lower() == first for line in run[1:]) * 2 >= len(run) - 1


def _starts_lower(s: str) -> bool:
    return bool(s) and (s[0].islower() or s[0] in ")]")


def _clean_line(line: _Line) -> MappedText:
    """A line with runs of white space folded to one space and bullets normalised."""
    out = MappedText()
    content = line.content
    bullet = _BULLET.match(content)
    position = 0
    if bullet:
        out.append_char("•", line.start)
        out.append_char(" ", line.start + 1)
        position = bullet.end()
    rest = _INLINE_BULLET.sub(lambda m: "•" + " " * (len(m.group()) - 1), content[position:])
    for token in re.finditer(r"\S+|\s+", rest):
        at = line.start + position + token.start()
        if token.group().isspace():
            if out.offsets and out.tail(1) != " ":
                out.append_char(" ", at)
        else:
            out.append(token.group(), at)
    return out


# Longer than any word a line break splits (the longest French words are 25 letters).
_LONGEST_WORD = 64


def _ends_hyphenated(text: str) -> bool:
    return bool(re.search(r"[^\W\d_]-$", text))


def _glue(left: MappedText, right: MappedText, hyphenated: set[str]) -> None:
    """Append a line (or block) that continues ``left`` across a line break."""
    # Only the end of what came before is read: a block grows line after line.
    word_before = re.search(r"(\w+)-$", left.tail(_LONGEST_WORD))
    word_after = re.match(r"\w+", right.text)
    if word_before and word_after:
        # A word split by the line break: keep the hyphen for compounds ("Provence-Alpes", or
        # any the document spells with one elsewhere), not for "inter-régional".
        compound = f"{word_before.group(1)}-{word_after.group()}".lower()
        if right.text[0].islower() and compound not in hyphenated:
            left.drop_last()
        left.extend(right)
    else:
        left.extend(right, " ")


def _join_lines(lines: list[_Line], hyphenated: set[str]) -> MappedText:
    out = _clean_line(lines[0])
    for previous, line in itertools.pairwise(lines):
        cleaned = _clean_line(line)
        if (
            len(previous.content) >= PARAGRAPH_LINE
            and previous.content.rstrip()[-1:] not in _TERMINAL
            and cleaned.text[:1].isupper()
        ):
            # A paragraph written on one line, without its full stop: the next line starts
            # another sentence ("… in Europe" / "The Research Unit …"), not the same one.
            out.extend(cleaned, "\n")
        else:
            _glue(out, cleaned, hyphenated)
    return out.strip()


def is_heading(text: str) -> bool:
    """A short line in the form of a title: capitalised, no closing punctuation, and not
    ending on a word that needs one after it ("… sont occupées par" is a wrapped line)."""
    words = text.split()
    return (
        2 <= len(text) <= 90
        and text[0].isupper()
        and text[-1] not in _TERMINAL + ",)"
        and len(words) <= 12
        and "@" not in text
        and "://" not in text
        and not text.startswith("•")
        and not (len(words) > 2 and _DANGLING.fullmatch(words[-1]))
    )


def split_sentences(text: MappedText) -> list[MappedText]:
    pieces, start = [], 0
    for match in _SENTENCE_BREAK.finditer(text.text):
        pieces.append(text.slice(start, match.start()).strip())
        start = match.end()
    pieces.append(text.slice(start, len(text.text)).strip())
    return [p for p in pieces if p.text]


def _units(run: list[_Line]) -> Iterator[list[_Line]]:
    """Split a run into paragraphs, headings and list items by how each line ends."""
    unit = [run[0]]
    for prev, line in itertools.pairwise(run):
        continues = not line.bullet and (
            prev.soft
            or _starts_lower(line.content)
            or prev.content[-1] in ",(-–"
            or prev.content.count("(") > prev.content.count(")")
        )
        if continues:
            unit.append(line)
        else:
            yield unit
            unit = [line]
    yield unit


def _block_from_unit(unit: list[_Line], hyphenated: set[str]) -> Block:
    text = _join_lines(unit, hyphenated)
    if unit[0].bullet:
        return Block("list", [text])
    if is_heading(text.text) and not unit[-1].soft:
        return Block("heading", [text])
    return Block("paragraph", [text])


def _merge_continuations(blocks: list[Block], hyphenated: set[str]) -> list[Block]:
    """Rejoin text that a page or column break cut in two across blank lines: a sentence that
    goes on in lower case, or a word split by a hyphen."""
    merged: list[Block] = []
    for block in blocks:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.kind != "table"
            and block.kind in ("paragraph", "heading")
        ):
            tail, first = previous.segments[-1], block.segments[0]
            split_word = _ends_hyphenated(tail.text) and first.text[:1].isalpha()
            words = tail.text.split()
            open_sentence = (
                previous.kind in ("paragraph", "list")
                and tail.text[-1:] not in _TERMINAL
                # It goes on in lower case, or its line ends on a word that needs one after
                # it ("… Président du" / "Comité Scientifique …").
                and (
                    _starts_lower(first.text)
                    or (
                        block.kind == "paragraph"
                        and first.text[:1].isalnum()  # a quotation opening is another text
                        and len(words) > 2
                        and _DANGLING.fullmatch(words[-1]) is not None
                    )
                )
            )
            if split_word or open_sentence:
                _glue(tail, first, hyphenated)
                if block.kind == "paragraph" and previous.kind == "heading":
                    previous.kind = "paragraph"
                continue
        merged.append(block)
    return merged


def _fold(s: str) -> str:
    return " ".join(s.lower().split())


def _drop_teasers(blocks: list[Block]) -> list[Block]:
    """Remove excerpts ("First words of the section …") whose full text is also there."""
    whole = " ".join(_fold(b.text) for b in blocks)
    kept = []
    for block in blocks:
        text = block.text.rstrip()
        if block.kind == "paragraph" and text.endswith(("…", "...")):
            opening = _fold(text)[:120]
            if whole.count(opening) >= 2:
                continue
        kept.append(block)
    return kept


def _finish(block: Block) -> Block:
    """Paragraphs are cut into sentences so a chunk boundary never falls mid-sentence."""
    if block.kind == "paragraph":
        block.segments = [s for segment in block.segments for s in split_sentences(segment)]
    return block


def parse_blocks(text: str, profile: CorpusProfile = NEUTRAL) -> list[Block]:
    """Clean, structured blocks of a document, each character mapped back to ``text``; the
    profile's boilerplate lines left out."""
    hyphenated = {m.group().lower() for m in _HYPHENATED.finditer(text)}
    blocks: list[Block] = []
    lines = split_lines(text)
    for run in _runs(text, lines, profile):
        if _is_table(run):
            rows = [_join_lines([line], hyphenated) for line in run]
            if not _is_cell_table(run) and _is_header_less_list(run):
                blocks.append(Block("list", rows))
            else:
                blocks.append(Block("table", rows[1:], header=rows[0]))
            continue
        blocks.extend(_block_from_unit(unit, hyphenated) for unit in _units(run))
    return [_finish(b) for b in _drop_teasers(_merge_continuations(blocks, hyphenated))]
