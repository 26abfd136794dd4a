"""Figures read from tables, and questions answered from them exactly.

A table whose cells a reader set apart (CSV, XLSX, HTML, DOCX) is read as a grid: every cell
that holds a figure becomes a :class:`~cancerassist.models.Measure` with the label of its row
and the label of its column, the latter read from the header row above it (a row of labels, or
a row of years: "Starting in | 2006 | 2007"). A question that names a row and a column of one
table is answered by that cell; one that asks for a total, an average, a difference or the
highest or lowest value is answered from the cells it ranges over, computed with ``Decimal``,
with every figure it used shown and cited.

Names are matched word by word with their stems and their translations (``glossary.tsv``), so a
French question meets an English table: a row is named when all its distinctive words are in
the question (the words most labels of a table share, such as "cancer" in "Breast Cancer",
"Lung Cancer", tell no row apart).

Example::

    cells = read_grid([["Year", "Applications"], ["2006", "485"], ["2007", "453"]])
    [(c.row, c.column, c.value) for c in cells]
    # [('2006', 'Applications', Decimal('485')), ('2007', 'Applications', Decimal('453'))]
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from cancerassist.amounts import find_amounts, parse_number
from cancerassist.analysis import missing_names, name_words, same_word
from cancerassist.models import Language, Measure, SourceDocument
from cancerassist.text import YEAR_RANGE, fold_accents, term_variants

if TYPE_CHECKING:
    from cancerassist.answer import Prompts

TableOperation = Literal["value", "total", "average", "difference", "max", "min"]

# A cell that is one figure: a count, an amount with its currency sign, a percentage.
_FIGURE = re.compile(
    r"(?P<pre>[€$£]|US\$|CHF|EUR|USD|GBP|CAD)?\s?"
    r"(?P<number>[-−]?\d[\d \u00a0\u202f.,’']*)\s?"
    r"(?P<post>%|€|\$|£|k€|M€|CHF|EUR|USD|GBP|CAD)?",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:19|20)\d{2}")
# A row that is the table's total ("Grand Total", "Sous-total"), not a row named "Total cost".
_TOTAL_ROW = re.compile(
    r"(?:grand\s+|sous-?|sub-?)?tota(?:l|ux)(?:\s+g[ée]n[ée]ral)?\W*", re.IGNORECASE
)
# A share of the labels of a table above which a word tells no label apart.
_COMMON_SHARE = 0.5
# Words that leave the names after them out of a total or a ranking ("leaving aside A and B").
_EXCLUDING = re.compile(
    r"\b(?:leaving aside|aside from|apart from|excluding|except(?:ing)?|other than|not counting|"
    r"without counting|hors|sauf|except[ée]e?s?|mis(?:es)? [àa] part|[àa] part|en dehors de|"
    r"sans compter)\b[^,;?]*",
    re.IGNORECASE,
)
# Parts of a total listed in an answer: more would not fit in it.
MAX_PARTS = 12


@dataclass(frozen=True)
class GridCell:
    """A figure of a grid, with where it sits (row and column indexes of ``rows``)."""

    row_index: int
    column_index: int
    header_index: int
    row: str
    group: str | None
    column: str
    caption: str
    value: Decimal
    text: str
    percent: bool
    is_total: bool


def _figure(cell: str) -> tuple[Decimal, bool] | None:
    """The value of a cell that holds one figure and nothing else ("47", "13.6%", "$1,200",
    "36,1 millions d'euros"), and whether it is a percentage."""
    text = cell.strip()
    match = _FIGURE.fullmatch(text)
    if match and text:
        number = match.group("number").strip().replace("−", "-")
        try:
            value = parse_number(number.lstrip("-"))
        except ArithmeticError:
            return None
        return (-value if number.startswith("-") else value), (match.group("post") or "") == "%"
    amounts = find_amounts(text, money_only=False)
    if len(amounts) == 1 and amounts[0].text == text:
        return amounts[0].value, False
    return None


def _is_year(cell: str) -> bool:
    return bool(_YEAR.fullmatch(cell.strip()))


def _year_header(row: list[str]) -> bool:
    """A header row of years over the columns ("Starting in | 2006 | 2007 | 2008")."""
    years = [int(c) for c in row if _is_year(c)]
    others = [c for c in row if c.strip() and not _is_year(c)]
    return len(years) >= 2 and len(others) <= 1 and years == sorted(set(years))


def _year_columns(rows: list[list[str]], year_headers: list[bool]) -> set[int]:
    """Columns whose cells are all years: labels of their rows, not figures."""
    width = max((len(r) for r in rows), default=0)
    found = set()
    for column in range(width):
        cells = [
            r[column]
            for r, year_header in zip(rows, year_headers, strict=True)
            if column < len(r) and r[column].strip() and not year_header
        ]
        if len(cells) >= 2 and all(_is_year(c) for c in cells[1:]):
            found.add(column)
    return found


def read_grid(rows: list[list[str]]) -> list[GridCell]:
    """The figures of a table given as rows of cells, each with the label of its row (the
    label cells before its first figure) and of its column (the nearest header row above
    that has a label over each of its figures)."""
    # Each row is classified once: a table of thousands of rows was read in minutes when every
    # row asked again about every row above it.
    year_headers = [_year_header(row) for row in rows]
    years = _year_columns(rows, year_headers)
    figures = [
        [None if c in years else _figure(cell) for c, cell in enumerate(row)] for row in rows
    ]
    is_data = [
        any(f is not None for f in figures[i])
        and any(cell.strip() and f is None for cell, f in zip(rows[i], figures[i], strict=True))
        and not year_headers[i]
        for i in range(len(rows))
    ]
    group_columns = _group_columns(rows, [i for i in range(len(rows)) if is_data[i]], years)
    headers = _HeadersAbove(rows, is_data)
    cells: list[GridCell] = []
    for i, row in enumerate(rows):
        if not is_data[i]:
            continue
        at = [c for c, f in enumerate(figures[i]) if f is not None]
        header = headers.find(i, at)
        if header is None:
            continue
        labels = [c for c, cell in enumerate(row) if cell.strip() and c < at[0]]
        if not labels:
            continue
        grouped = [row[c] for c in labels if c in group_columns]
        own = [row[c] for c in labels if c not in group_columns] or grouped[-1:]
        caption = _caption(rows, header)
        for c in at:
            value, percent = figures[i][c] or (Decimal(0), False)
            cells.append(
                GridCell(
                    row_index=i,
                    column_index=c,
                    header_index=header,
                    row=" — ".join(own),
                    group=" — ".join(g for g in grouped if g not in own) or None,
                    column=rows[header][c].strip(),
                    caption=caption,
                    value=value,
                    text=row[c].strip(),
                    percent=percent,
                    is_total=bool(_TOTAL_ROW.fullmatch(" ".join(own).strip())),
                )
            )
    return cells


def _group_columns(rows: list[list[str]], data: list[int], years: set[int]) -> set[int]:
    """Label columns whose values repeat down the rows ("Section"): they group rows rather
    than name them."""
    found = set()
    for column in range(max((len(rows[i]) for i in data), default=0)):
        values = [rows[i][column] for i in data if column < len(rows[i]) and rows[i][column]]
        if column not in years and len(values) >= 3 and len(set(values)) * 2 <= len(values):
            found.add(column)
    return found


class _HeadersAbove:
    """The nearest row above a row of figures that is not itself a row of figures and labels
    each of its figure columns; rows of figures in between share it, as do rows with a gap and
    captions.

    Rows are asked about top to bottom, so the rows above are read once per set of figure
    columns, not once per row: the search stays linear in a long table's length."""

    def __init__(self, rows: list[list[str]], is_data: list[bool]) -> None:
        self.rows = rows
        self.candidates = [j for j, data in enumerate(is_data) if not data]
        # Figure columns -> (nearest labelling row found so far, candidates read so far).
        self.found: dict[tuple[int, ...], tuple[int | None, int]] = {}

    def find(self, i: int, at: list[int]) -> int | None:
        key = tuple(at)
        header, read = self.found.get(key, (None, 0))
        while read < len(self.candidates) and self.candidates[read] < i:
            row = self.rows[self.candidates[read]]
            if all(c < len(row) and row[c].strip() for c in at):
                header = self.candidates[read]
            read += 1
        self.found[key] = (header, read)
        return header


def _caption(rows: list[list[str]], header: int) -> str:
    """The one-cell row just above the header ("Applications and grants in recent years:"),
    with the header's own label if it has one ("Starting in:")."""
    above = next(
        (
            cells[0]
            for row in reversed(rows[max(0, header - 3) : header])
            if len(cells := [c for c in row if c.strip()]) == 1
        ),
        "",
    )
    own = [c for c in rows[header] if c.strip() and not _is_year(c)]
    label = own[0] if _year_header(rows[header]) and own else ""
    return " — ".join(p.strip().rstrip(":").strip() for p in (above, label) if p.strip())


# ---------------------------------------------------------------------------------------------
# Questions


class TableAnswer(BaseModel):
    """What a table says to a question: the cells used, and the figure computed from them."""

    operation: TableOperation
    cells: list[Measure]
    value: Decimal | None = None
    best: Measure | None = None
    # Which labels the cells share (a row over years, a column over rows): what was summed.
    over: Literal["rows", "columns", "cells"] = "cells"
    # How many of the table's dimensions (rows, columns) the question names.
    score: float
    # The share of the question's words the table and the text around it write.
    coverage: float = 0.0


_OPERATIONS: dict[str, TableOperation] = {
    "value": "value",
    "count": "value",
    "list": "value",
    "membership": "value",
    "total": "total",
    "combined": "total",
    "average": "average",
    "difference": "difference",
    "compare": "difference",
    "trend": "difference",
    "increase": "difference",
    "decrease": "difference",
    "max": "max",
    "min": "min",
}


@lru_cache(maxsize=8192)
def _label_words(label: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(forms) for forms in term_variants(label))


@dataclass
class _Question:
    text: str
    forms: frozenset[str]
    words: frozenset[str]
    years: frozenset[str]
    endpoints: tuple[str, str] | None
    excluded: str

    @classmethod
    def read(cls, text: str) -> _Question:
        variants = term_variants(text, translate=True)
        span = YEAR_RANGE.search(text)
        excluded = " ".join(m.group() for m in _EXCLUDING.finditer(text))
        return cls(
            text=text,
            forms=frozenset(form for forms in variants for form in forms),
            words=frozenset(re.findall(r"[a-z]+", fold_accents(text).lower())),
            years=frozenset(_YEAR.findall(text)),
            endpoints=(span.group(1), span.group(2)) if span else None,
            excluded=excluded,
        )

    def names(self, label: str, common: set[str]) -> bool:
        return _names(label, self.forms, self.words, common, self.years)

    def dates(self, label: str) -> bool:
        """A label holding a year the question asks about (or one in its range)."""
        return any(y in self.years or self.in_range(y) for y in _YEAR.findall(label))

    def in_range(self, label: str) -> bool:
        if not self.endpoints or not _is_year(label):
            return False
        first, last = sorted(self.endpoints)
        return first <= label.strip() <= last


def _names(
    label: str,
    forms: frozenset[str],
    words: frozenset[str],
    common: set[str],
    years: frozenset[str],
) -> bool:
    """Every distinctive word of ``label`` is in the question (a stem, a translation, or the
    word mistyped); a year, written as it is."""
    if _is_year(label):
        return label.strip() in years
    # The years a label writes are matched by the question's dates (see _Table), not as words.
    words_of = [w for w in _label_words(label) if not any(_is_year(f) for f in w)]
    label_words = [w for w in words_of if not w <= common] or words_of
    if not label_words:
        return False
    return all(
        w & forms or any(same_word(form, word) for form in w for word in words) for w in label_words
    )


def _common(labels: Sequence[str]) -> set[str]:
    """Forms most labels of one dimension share: they name none of them."""
    if len(labels) < 3:
        return set()
    counts: dict[str, int] = defaultdict(int)
    for label in labels:
        for form in {f for w in _label_words(label) for f in w}:
            counts[form] += 1
    return {form for form, n in counts.items() if n > len(labels) * _COMMON_SHARE}


class TableIndex:
    """The build's table figures grouped by table, each with the text a question's proper
    names must be in to be about it (its document's title and subject, the text around it):
    built once per loaded index."""

    # Text before a table that may name what it is about (a title, a lead-in paragraph).
    CONTEXT_BEFORE = 1500

    def __init__(self, measures: Sequence[Measure], documents: Mapping[str, SourceDocument]):
        self.tables: dict[str, list[Measure]] = defaultdict(list)
        for measure in measures:
            self.tables[f"{measure.provenance.doc_id}:{measure.table}"].append(measure)
        self.contexts = {}
        for key, cells in self.tables.items():
            document = documents[cells[0].provenance.doc_id]
            start = max(0, min(c.provenance.start for c in cells) - self.CONTEXT_BEFORE)
            end = max(c.provenance.end for c in cells)
            self.contexts[key] = " ".join(
                [document.title, document.subject, cells[0].caption, document.text[start:end]]
            )

    def answer(self, question: str, operation: str | None) -> TableAnswer | None:
        """The answer of the one table whose cells the question names best, if any."""
        if not self.tables:
            return None  # (a corpus without tables pays nothing per question)
        asked = _Question.read(question)
        wanted = _OPERATIONS.get(operation or "value", "value")
        names = name_words(question)
        answers = []
        for key, cells in self.tables.items():
            found = _Table(asked, cells).answer(wanted)
            if found is not None and not _missing(names, self.contexts[key]):
                answers.append(
                    found.model_copy(update={"coverage": coverage(question, self.contexts[key])})
                )
        if not answers:
            return None
        answers.sort(key=lambda a: -a.score)
        if len(answers) > 1 and answers[1].score == answers[0].score:
            return None  # two tables answer as well: the question does not say which
        return answers[0]


def _missing(names: list[str], context: str) -> bool:
    """A name the question uses that the table's context never writes, even inside a word
    (a web address: "alpinecancerfund.org")."""
    folded = fold_accents(context).lower()
    return any(len(n) < 4 or n not in folded for n in missing_names(names, context))


def coverage(question: str, text: str) -> float:
    """The share of the question's content words that ``text`` writes (a stem or a
    translation of each): how much of what is asked a candidate's source is about."""
    asked = term_variants(question, translate=True)
    if not asked:
        return 0.0
    written = {form for forms in term_variants(text) for form in forms}
    return sum(bool(set(forms) & written) for forms in asked) / len(asked)


class _Table:
    """One table read against one question: the rows and columns it names, and the cells
    each operation ranges over."""

    def __init__(self, asked: _Question, cells: list[Measure]) -> None:
        self.asked = asked
        self.rows = list(dict.fromkeys(c.row for c in cells))
        # Rows labelled by year ("2019 — open call"): a question's years pick among them.
        dated = bool(asked.years) and any(_YEAR.search(r) for r in self.rows)
        if dated:
            self.rows = [r for r in self.rows if asked.dates(r)]
        self.columns = list(dict.fromkeys(c.column for c in cells))
        self.at = {(c.row, c.column): c for c in cells}
        row_common, column_common = _common(self.rows), _common(self.columns)
        left_out = _Question.read(asked.excluded) if asked.excluded else None
        self.dropped = {r for r in self.rows if left_out and left_out.names(r, row_common)}
        self.named_rows = [
            r for r in self.rows if asked.names(r, row_common) and r not in self.dropped
        ]
        if dated and not self.named_rows:
            self.named_rows = list(self.rows)
        self.named_columns = [
            c
            for c in self.columns
            if asked.names(c, column_common) and not (left_out and left_out.names(c, column_common))
        ]

    def cells(self, rows: list[str], columns: list[str]) -> list[Measure]:
        return [self.at[r, c] for r in rows for c in columns if (r, c) in self.at]

    def along_row(self, row: str, columns: list[str]) -> list[Measure]:
        return self.cells([row], columns or self.columns)

    def down_column(self, column: str) -> list[Measure]:
        return [
            c
            for c in self.cells(self.rows, [column])
            if not c.is_total and c.row not in self.dropped
        ]

    def answer(self, wanted: TableOperation) -> TableAnswer | None:
        if not self.named_rows and not self.named_columns:
            return None
        rows, columns = self.named_rows, self.named_columns
        if wanted in ("total", "average", "max", "min") and len(rows) == 1:
            # "from 2006 to 2015": every year between, not only the two written.
            columns = [c for c in self.columns if self.asked.in_range(c)] or columns
        if wanted == "difference" and self.asked.endpoints:
            columns = [c for c in self.columns if c.strip() in self.asked.endpoints] or columns
        found = {
            "value": self._value,
            "total": self._total,
            "average": self._total,
            "difference": self._difference,
            "max": self._extreme,
            "min": self._extreme,
        }[wanted](wanted, rows, columns)
        if found is None:
            return None
        chosen, over = found
        if len(chosen) == 1:
            wanted = "value"  # the total of one figure (its year's) is that figure
        return _computed(wanted, chosen, over, float(bool(rows)) + float(bool(columns)))

    def _value(self, _: TableOperation, rows: list[str], columns: list[str]) -> _Found | None:
        # Both named: a row alone ("By region" of a contents page) answers nothing asked.
        chosen = self.cells(rows, columns)
        return (chosen, "cells") if 0 < len(chosen) <= MAX_VALUES else None

    def _series(self, rows: list[str], columns: list[str]) -> _Found | None:
        """The cells a total or a ranking runs over: along the one row named (its years),
        or down the one column named."""
        if len(rows) == 1 and all(_is_year(c) for c in columns or self.columns):
            return self.along_row(rows[0], columns), "columns"
        if len(columns) == 1 and not rows:
            return self.down_column(columns[0]), "rows"
        if len(columns) == 1 and rows:
            return self.cells(rows, columns), "rows"
        return None

    def _total(self, _: TableOperation, rows: list[str], columns: list[str]) -> _Found | None:
        found = self._series(rows, columns)
        # (rates do not add up)
        if found is None or not found[0] or any(c.percent for c in found[0]):
            return None
        return found

    def _difference(self, _: TableOperation, rows: list[str], columns: list[str]) -> _Found | None:
        if (len(rows), len(columns)) not in ((1, 2), (2, 1)):
            return None
        chosen = self.cells(rows, columns)
        return (chosen, "columns" if len(rows) == 1 else "rows") if len(chosen) == 2 else None

    def _extreme(self, _: TableOperation, rows: list[str], columns: list[str]) -> _Found | None:
        found = self._series(rows, columns)
        return found if found is not None and len(found[0]) >= 2 else None


_Found = tuple[list[Measure], Literal["rows", "columns", "cells"]]
# Cells one answer may list: a question naming more asks for a table, not a figure.
MAX_VALUES = 6


def _computed(
    wanted: TableOperation,
    chosen: list[Measure],
    over: Literal["rows", "columns", "cells"],
    score: float,
) -> TableAnswer:
    value: Decimal | None = None
    best: Measure | None = None
    if wanted in ("total", "average"):
        value = sum((c.value for c in chosen), Decimal(0))
        if wanted == "average":
            value /= len(chosen)
    elif wanted == "difference":
        value = chosen[1].value - chosen[0].value
    elif wanted in ("max", "min"):
        best = (max if wanted == "max" else min)(chosen, key=lambda c: c.value)
        value = best.value
    return TableAnswer(
        operation=wanted, cells=chosen, value=value, best=best, over=over, score=score
    )


# ---------------------------------------------------------------------------------------------
# Answers in words


def format_figure(value: Decimal, language: Language, percent: bool = False) -> str:
    """A computed figure written the reader's way: ``45 412 331`` / ``45,412,331``, decimals
    kept exact (at most two for a mean)."""
    if value != value.to_integral_value():
        value = value.quantize(Decimal("0.01")).normalize()
    whole = format(value, "f")
    sign = "-" if whole.startswith("-") else ""
    integer, _, decimals = whole.lstrip("-").partition(".")
    grouped = f"{int(integer):,}"
    if language == "fr":
        text = grouped.replace(",", "\u202f") + (f",{decimals}" if decimals else "")
    else:
        text = grouped + (f".{decimals}" if decimals else "")
    return f"{sign}{text}{' %' if percent and language == 'fr' else '%' if percent else ''}"


def _quoted(label: str, language: Language) -> str:
    # Labels stay as the table writes them, marked as quotes: the answer's own words are in
    # the reader's language, the table's in its own.
    return f"« {label} »" if language == "fr" else f"“{label}”"


def render_table_answer(answer: TableAnswer, language: Language, prompts: Prompts) -> str:
    """The answer in the reader's language, with every figure it used and the table's
    caption."""
    source = prompts.say(language, "table.source", caption=answer.cells[0].caption)
    if answer.operation == "value":
        text = " ".join(
            prompts.say(
                language,
                "table.value",
                row=_quoted(c.row, language),
                column=_quoted(c.column, language),
                value=c.value_text,
            )
            for c in answer.cells
        )
    elif answer.operation == "difference":
        text = _difference_text(answer, language, prompts)
    else:
        text = f"{_summary_text(answer, language, prompts)} {_parts(answer, language, prompts)}"
    return f"{text.strip()} {source}"


def _shared(answer: TableAnswer) -> str:
    """The label the cells have in common: the row along which, or the column down which."""
    first = answer.cells[0]
    return first.row if answer.over == "columns" else first.column


def _own(answer: TableAnswer, cell: Measure) -> str:
    """The label that tells a cell from the others of the answer."""
    return cell.column if answer.over == "columns" else cell.row


def _parts(answer: TableAnswer, language: Language, prompts: Prompts) -> str:
    if len(answer.cells) > MAX_PARTS:
        return ""
    parts = prompts.say(language, "table.part_separator").join(
        prompts.say(language, "table.part", label=_own(answer, c), value=c.value_text)
        for c in answer.cells
    )
    return prompts.say(language, "table.parts", parts=parts)


def _summary_text(answer: TableAnswer, language: Language, prompts: Prompts) -> str:
    """A total, an average, the highest or the lowest."""
    assert answer.value is not None
    what = _quoted(_shared(answer), language)
    if answer.best is not None:
        return prompts.say(
            language,
            f"table.{answer.operation}",
            what=what,
            label=_own(answer, answer.best),
            value=answer.best.value_text,
        )
    percent = any(c.percent for c in answer.cells)
    return prompts.say(
        language,
        f"table.{answer.operation}",
        what=what,
        value=format_figure(answer.value, language, percent),
        count=len(answer.cells),
    )


def _difference_text(answer: TableAnswer, language: Language, prompts: Prompts) -> str:
    """Two figures and how far apart they are; between two years, up or down."""
    assert answer.value is not None
    first, second = answer.cells
    years = _is_year(_own(answer, first)) and _is_year(_own(answer, second))
    key = "difference"
    if years:
        key = "change_up" if answer.value > 0 else "change_down" if answer.value else "same"

    def label(cell: Measure) -> str:
        return _own(answer, cell) if years else _quoted(_own(answer, cell), language)

    return prompts.say(
        language,
        f"table.{key}",
        what=_quoted(_shared(answer), language),
        first_label=label(first),
        second_label=label(second),
        first=first.value_text,
        second=second.value_text,
        value=format_figure(abs(answer.value), language, first.percent),
    )
