"""The embedded broker: kombu's SQLAlchemy transport on SQLite, tuned.

Its ``polling_interval`` transport option would be passed on to ``create_engine`` (and crash
it), so the interval is set on a Transport subclass; SQLite gets WAL and a busy timeout so
the API and several worker processes can share the file.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Channel as SqlaChannel
from kombu.transport.sqlalchemy import Transport as SqlaTransport
from sqlalchemy import Engine, event

ALIAS = "mmragsqla"


class Channel(SqlaChannel):
    def _engine_from_config(self) -> Engine:
        engine: Engine = super()._engine_from_config()
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Transport(SqlaTransport):
    Channel = Channel
    polling_interval = 0.1


def register(polling_interval: float) -> None:
    """Make ``mmragsqla+sqlite:///...`` URLs resolve to this transport."""
    Transport.polling_interval = polling_interval
    TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"
