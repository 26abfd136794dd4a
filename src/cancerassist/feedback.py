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

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
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


# After a failed write, readiness tries a write of this many bytes (a large rating: comment,
# question, answer and citations), at most once per interval, so that it comes back once the
# disk has room again without waiting for a user's rating (a load balancer that honours
# readiness sends none).
_PROBE_BYTES = 16 * 1024
_PROBE_INTERVAL_S = 1.0


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


class StorageError(Exception):
    """Feedback could not be stored; ``full`` when the disk (or the database) is full."""

    def __init__(self, reason: str, full: bool) -> None:
        super().__init__(reason)
        self.full = full


class FeedbackStore:
    """One SQLite file; safe to use from the server's worker threads and processes. One rating
    per answer: rating it again replaces the first (the user changed their mind)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Why the last write failed, until one succeeds: readiness reports it.
        self.failure: str | None = None
        self._probed = 0.0
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

    def add(self, record: FeedbackRecord) -> tuple[int, bool]:
        """Store ``record``: its row id, and whether it replaced an earlier rating of the same
        answer. :class:`StorageError` if it could not be stored (nothing was)."""
        citations = json.dumps([c.model_dump() for c in record.citations], ensure_ascii=False)
        values = (
            datetime.now(UTC).isoformat(),
            record.message_id,
            record.rating,
            record.comment,
            record.language,
            record.question,
            record.answer,
            citations,
        )
        try:
            with self._lock, self._connect() as db:
                # One writer at a time across processes, so two workers do not both insert.
                db.execute("BEGIN IMMEDIATE")
                earlier = db.execute(
                    "SELECT id FROM feedback WHERE message_id = ? ORDER BY id LIMIT 1",
                    (record.message_id,),
                ).fetchone()
                if earlier is None:
                    cursor = db.execute(
                        "INSERT INTO feedback (created_at, message_id, rating, comment, language,"
                        " question, answer, citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        values,
                    )
                    row, replaced = int(cursor.lastrowid or 0), False
                else:
                    db.execute(
                        "UPDATE feedback SET created_at = ?, message_id = ?, rating = ?,"
                        " comment = ?, language = COALESCE(?, language),"
                        " question = COALESCE(?, question), answer = COALESCE(?, answer),"
                        " citations = ? WHERE id = ?",
                        (*values, earlier[0]),
                    )
                    row, replaced = int(earlier[0]), True
        except (sqlite3.Error, OSError) as exc:
            full = isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()
            full = full or getattr(exc, "errno", None) in (28, 27)  # ENOSPC, EFBIG
            self.failure = f"feedback storage: {exc}"
            raise StorageError(str(exc), full) from exc
        self.failure = None
        return row, replaced

    def writable(self) -> bool:
        """Whether ratings can be stored: True until a write fails, then whether a write of
        the size of a large rating succeeds now (it grows the file, then frees the space for
        the next rating). Checked at most once per interval: readiness is polled, and anyone
        may poll it."""
        if self.failure is None:
            return True
        now = time.monotonic()
        if now - self._probed < _PROBE_INTERVAL_S:
            return False
        self._probed = now
        try:
            with self._lock, self._connect() as db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("CREATE TABLE IF NOT EXISTS probe (data BLOB)")
                db.execute("INSERT INTO probe VALUES (zeroblob(?))", (_PROBE_BYTES,))
                db.execute("DELETE FROM probe")
        except (sqlite3.Error, OSError) as exc:
            self.failure = f"feedback storage: {exc}"
            return False
        self.failure = None
        return True

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


class MessageSigner:
    """Message ids a client can send back (feedback) and any worker or replica sharing the key
    can check were issued by the service, with no shared memory: ``<id>.<HMAC of the id>``."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, message_id: str) -> str:
        return f"{message_id}.{self._mac(message_id)}"

    def verify(self, signed: str) -> str | None:
        """The id ``signed`` carries if the service issued it, else None."""
        message_id, _, mac = signed.rpartition(".")
        if message_id and hmac.compare_digest(mac, self._mac(message_id)):
            return message_id
        return None

    def _mac(self, message_id: str) -> str:
        return hmac.new(self._key, message_id.encode(), hashlib.sha256).hexdigest()[:20]


def message_key(data_dir: Path) -> bytes:
    """The key message ids are signed with: ``message.key`` under ``data_dir``, made on first
    use (readable by its owner only) and read by every worker that shares the directory."""
    path = data_dir / "message.key"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then linked in place: a worker starting at the same moment reads a
        # whole key or makes its own and loses the race, never reads half of one.
        draft = data_dir / f".message.key.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as f:
            f.write(secrets.token_bytes(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()
