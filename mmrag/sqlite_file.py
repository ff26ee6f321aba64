"""A SQLite file shared by threads and processes: WAL, one connection per thread, and
``BEGIN IMMEDIATE`` write transactions (writers queue on the file lock, never deadlock)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self._sync}")
            self._local.db = db
        return db

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
