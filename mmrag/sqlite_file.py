"""A SQLite file shared by threads and processes: WAL, one connection per thread, and
``BEGIN IMMEDIATE`` write transactions (writers queue on the file lock, never deadlock)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class SqliteFile:
    def __init__(self, path: Path, *, schema: str, timeout: float = 30, sync: str = "NORMAL"):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._timeout = timeout
        self._sync = sync
        self._local = threading.local()
        with self.write() as db:
            for statement in schema.split(";"):
                if statement.strip():
                    db.execute(statement)

    def connection(self) -> sqlite3.Connection:
        """Return this thread's connection (autocommit mode; transactions are explicit)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
            self._set_wal(db)
            db.execute(f"PRAGMA synchronous={self._sync}")
            self._local.db = db
        return db

    def _set_wal(self, db: sqlite3.Connection) -> None:
        set_wal(db, self._timeout)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection inside a write transaction, committed on success."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def set_wal(db: Any, timeout: float) -> None:
    """Switch ``db`` (a DB-API connection or cursor) to WAL, waiting out a racing process.

    Changing the journal mode takes the file lock without SQLite's busy handler, so two
    processes opening a fresh file at once get "database is locked" at once.
    """
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
