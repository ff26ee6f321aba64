"""Engines, sessions and migrations for the catalog (SQLite in WAL mode, or PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mmrag.errors import from_engine
from mmrag.sqlite_file import set_wal

_MIGRATIONS = Path(__file__).with_name("migrations")
_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    """Return an engine; SQLite gets WAL, a busy timeout and foreign keys on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    set_wal(cursor, 30.0)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    # Processes opening a fresh catalog at once (API replicas, workers) migrate in turn.
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    guard = FileLock(f"{database}.migrate.lock") if database and database != ":memory:" else None
    with _lock, guard or nullcontext(), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(7262738)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ping(session: Session) -> None:
    """Raise unless the database answers a trivial query."""
    session.execute(text("SELECT 1"))


class Catalog:
    """Owns the engine and session factory; one per process and database URL."""

    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if run_migrations:
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session in a transaction: committed on success, rolled back on error.

        A database that is unreachable, locked or full raises the kernel's
        :class:`TransientError` or :class:`InsufficientStorage`.
        """
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise from_engine("catalog", exc) from exc

    def dispose(self) -> None:
        self.engine.dispose()
