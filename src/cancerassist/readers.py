"""Office and data files as the text the engine indexes, their structure kept in its layout.

Every reader writes the same layout, which :func:`cancerassist.ingest.parse_blocks` reads back:
a heading on a line of its own between blank lines, a list item on a line opening with "• ", and
a table as one line per row with its cells joined by :data:`CELL` (the header row first), so the
extractors see each row with its header and each cell apart. Numbers in spreadsheets are written
exactly as stored (``1500000``, ``0.25``), never rounded by a display format.

Example::

    text = csv_to_text(Path("grants.csv").read_text(encoding="utf-8"))
    # "Year | Funder | Amount\\n2021 | Région | 250000"
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

CELL = " | "


def split_cells(row: str) -> list[str]:
    """The cells of a row written with CELL (an empty cell included: "a | | b")."""
    return [cell.strip() for cell in re.split(r" ?\| ?", row)]


class ReadError(Exception):
    """A file that cannot be read: the message says why, for the build report."""


def _cell(value: Any) -> str:
    """A cell's text on one line, its own "|" kept apart from the cell separator."""
    return _plain(value).replace("|", "／")


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        # repr-exact, and no ".0" on whole numbers: 1500000.0 was typed as 1500000.
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())


def table_lines(rows: Iterable[Iterable[Any]]) -> list[str]:
    """One line per non-empty row, cells joined by CELL; columns empty in every row dropped."""
    cells = [[_cell(v) for v in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return []
    width = max(len(row) for row in cells)
    padded = [row + [""] * (width - len(row)) for row in cells]
    used = [i for i in range(width) if any(row[i] for row in padded)]
    return [CELL.join(row[i] for i in used) for row in padded]


def csv_to_text(text: str) -> str:
    """A CSV (any usual delimiter) as one table."""
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        return "\n".join(table_lines(csv.reader(io.StringIO(text), dialect)))
    except csv.Error as exc:
        raise ReadError(f"unreadable CSV ({exc})") from exc


def xlsx_to_text(path: Path) -> str:
    """Each sheet as a heading (its name) and a table of its rows."""
    from openpyxl import load_workbook

    parts = []
    # A damaged file fails anywhere in the reading (zip, XML, cells): whatever the library
    # raises, the file is reported by name and the others are indexed.
    try:
        book = load_workbook(path, read_only=True, data_only=True)
        for sheet in book.worksheets:
            lines = table_lines(sheet.iter_rows(values_only=True))
            if lines:
                parts.append(sheet.title + "\n\n" + "\n".join(lines))
        book.close()
    except Exception as exc:
        raise ReadError(f"unreadable spreadsheet ({type(exc).__name__}: {exc})") from exc
    return "\n\n".join(parts)


def docx_to_text(path: Path) -> str:
    """Paragraphs in document order: headings alone, list paragraphs as items, tables as
    rows."""
    from docx import Document

    try:
        return _docx_parts(Document(str(path)))
    except Exception as exc:  # a damaged file fails anywhere: zip, XML, styles
        raise ReadError(f"unreadable Word document ({type(exc).__name__}: {exc})") from exc


def _docx_parts(document: Any) -> str:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    parts: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            # A merged cell is the same cell in every column it spans: written once (two
            # cells that only say the same are both kept).
            rows = [
                [cell.text for cell in {id(cell._tc): cell for cell in row.cells}.values()]
                for row in item.rows
            ]
            lines = table_lines(rows)
            parts.append("\n".join(lines))
            continue
        assert isinstance(item, Paragraph)
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if style.startswith(("Heading", "Title", "Titre")):
            parts.append(text)
        elif style.startswith(("List", "Liste")):
            # Consecutive items form one list: no blank line between them.
            if parts and parts[-1].startswith("• "):
                parts[-1] += "\n• " + text
            else:
                parts.append("• " + text)
        else:
            parts.append(text)
    return "\n\n".join(p for p in parts if p)


def markdown_to_html(text: str) -> str:
    """CommonMark with pipe tables, rendered to HTML (then read like any web page)."""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))
