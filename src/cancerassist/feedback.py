"""User feedback on answers, kept in SQLite under the data directory, exportable as evaluation
cases.

Only what the user sent is stored: the rating, the optional comment, and the rated exchange
(question, answer, citations), which the service holds in memory until it is rated and never
writes to disk otherwise.

Example::

    store = FeedbackStore(Path("data/feedback.sqlite3"))
    store.add(FeedbackRecord(message_id="ab12", rating="up"))
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from cancerassist.models import Citation

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    message_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT,
    language TEXT,
    question TEXT,
    answer TEXT,
    citations TEXT
)
"""


class FeedbackRecord(BaseModel):
    message_id: str = Field(min_length=1, max_length=64)
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)
    language: str | None = Field(default=None, max_length=8)
    question: str | None = Field(default=None, max_length=4000)
    answer: str | None = Field(default=None, max_length=4000)
    citations: list[Citation] = Field(default=[], max_length=50)


class StoredFeedback(FeedbackRecord):
    id: int
    created_at: datetime


class FeedbackStore:
    """One SQLite file; safe to use from the server's worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def add(self, record: FeedbackRecord) -> int:
        citations = json.dumps([c.model_dump() for c in record.citations], ensure_ascii=False)
        with self._lock, self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (created_at, message_id, rating, comment, language, question,"
                " answer, citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).isoformat(),
                    record.message_id,
                    record.rating,
                    record.comment,
                    record.language,
                    record.question,
                    record.answer,
                    citations,
                ),
            )
            return int(cursor.lastrowid or 0)

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def records(self, limit: int = -1, offset: int = 0) -> list[dict[str, object]]:
        """Stored rows, oldest first (``limit`` -1: all of them)."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT * FROM feedback ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [{**dict(row), "citations": json.loads(row["citations"] or "[]")} for row in rows]

    def export_cases(self) -> Iterator[dict[str, object]]:
        """Rated exchanges in the evaluation set's shape, for review before joining it."""
        for row in self.records():
            if not row["question"]:
                continue
            yield {
                "id": f"feedback-{row['id']}",
                "language": row["language"],
                "turns": [row["question"]],
                "answer": row["answer"],
                "citations": row["citations"],
                "rating": row["rating"],
                "comment": row["comment"],
                "source": "feedback",
            }
