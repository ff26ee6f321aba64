"""Logging: JSON lines (python-json-logger) or plain text, with the request id of the API
request that caused the work, carried into Celery tasks as a message header."""

from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("mmrag_request_id", default=None)
HEADER = "X-Request-ID"
MAX_ID_CHARS = 128


def new_request_id(given: str | None = None) -> str:
    """Return ``given`` when it is a sane id (printable, short), else a fresh one."""
    if given and len(given) <= MAX_ID_CHARS and given.isprintable() and " " not in given:
        return given
    return uuid.uuid4().hex


# Libraries' start-up chatter that no user can act on, kept to warnings and worse: faiss
# tries AVX512/AVX2 builds and logs each ModuleNotFoundError, alembic names its dialect on
# every connection, sentence-transformers where it loads from (the spaces log that), httpx
# every request it sends (the access log of the server it calls has them).
QUIET_LOGGERS = ("faiss.loader", "alembic.runtime.migration", "sentence_transformers", "httpx")


class _LibraryChatter(logging.Filter):
    """Drop INFO records that open_clip logs on the root logger ("Loaded ... model config")."""

    def filter(self, record: logging.LogRecord) -> bool:
        chatter = record.name == "root" and "open_clip" in record.pathname
        return not (chatter and record.levelno < logging.WARNING)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure(fmt: str = "json", level: int | str = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON lines (``fmt="json"``) or text."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.addFilter(_LibraryChatter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"levelname": "level", "asctime": "time", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
