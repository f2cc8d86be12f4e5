"""The outbox: every read is stored in a local SQLite file before it is sent, and removed only when the
backend's verdict for it is stored beside it. A crash or a dead link loses nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    read_id TEXT NOT NULL UNIQUE,
    queued_at TEXT NOT NULL,
    message BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS verdicts (
    read_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    message BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class Pending:
    seq: int
    read_id: str
    message: bytes  # a serialised platepatrol.v1.PlateRead


# How often settling a verdict also forgets the verdicts past their keep time.
PURGE_EVERY = timedelta(minutes=1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Outbox:
    """Thread-safe: the pipeline puts reads in, the uplink takes verdicts out, from different threads.

    Answered reads are kept only `keep_verdicts` (plate reads are personal data): they are forgotten when
    the outbox opens and, as the shift goes on, at most every minute when a verdict is settled.
    """

    def __init__(
        self,
        path: Path,
        keep_verdicts: timedelta | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._keep_verdicts = keep_verdicts
        self._clock = clock
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a read acknowledged here survives power loss
            self._db.executescript(SCHEMA)
        self._purged_at = self._clock()
        self._purge_expired()

    def put(self, read_id: str, message: bytes) -> None:
        """Store a read to send; storing the same read id again is a no-op."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (read_id, queued_at, message) VALUES (?, ?, ?)",
                (read_id, self._clock().isoformat(), message),
            )

    def pending(self, after_seq: int = 0, limit: int = 1000) -> list[Pending]:
        """Reads still waiting for a verdict, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, read_id, message FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
            ).fetchall()
        return [Pending(seq, read_id, bytes(message)) for seq, read_id, message in rows]

    def settle(self, read_id: str, verdict: bytes) -> bytes | None:
        """Store the verdict for `read_id` and take the read out of the outbox, in one transaction.
        Returns the read, or None when it was not waiting (already settled by an earlier answer, or unknown)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT message FROM outbox WHERE read_id = ?", (read_id,)).fetchone()
                if row is not None:
                    self._db.execute("DELETE FROM outbox WHERE read_id = ?", (read_id,))
                    self._db.execute(
                        "INSERT OR REPLACE INTO verdicts (read_id, received_at, message) VALUES (?, ?, ?)",
                        (read_id, self._clock().isoformat(), verdict),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if self._clock() - self._purged_at >= PURGE_EVERY:
            self._purge_expired()
        return bytes(row[0]) if row is not None else None

    def verdict(self, read_id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT message FROM verdicts WHERE read_id = ?", (read_id,)).fetchone()
        return bytes(row[0]) if row else None

    def depth(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def purge_verdicts(self, before: datetime) -> int:
        """Forget verdicts received before `before` (plate reads are personal data)."""
        with self._lock:
            return self._db.execute("DELETE FROM verdicts WHERE received_at < ?", (before.isoformat(),)).rowcount

    def _purge_expired(self) -> None:
        now = self._clock()
        self._purged_at = now
        if self._keep_verdicts is not None:
            self.purge_verdicts(now - self._keep_verdicts)

    def close(self) -> None:
        with self._lock:
            self._db.close()
