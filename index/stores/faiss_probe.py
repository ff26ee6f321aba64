"""Is the FAISS store's record log whole? A cheap check for /readyz and ``mmrag reindex``.

SQLite's own ``quick_check`` reads every page (seconds on a large log). A truncated or
overwritten file, the damage a full disk, a bad copy or a stray tool leaves, shows in the
100-byte header alone: the magic string, the page size, and a page count that the file's
length must cover. The length is compared only while the WAL holds no frames: a checkpoint
writes the header's page first and the pages after it, so with frames waiting a live log
can be briefly shorter than its header says. A read of the log's tables then catches a
file SQLite refuses to open.
"""

from __future__ import annotations

import sqlite3
import struct
from contextlib import closing
from pathlib import Path

from index.engine_errors import REINDEX_VECTORS, Diagnosis
from index.stores.faiss_generation import current

_MAGIC = b"SQLite format 3\x00"
_WAL_HEADER = 32  # a WAL file this short holds no frames


def log_damage(root: Path) -> str | None:
    """Return why the current record log under ``root`` is damaged, or None when it is whole."""
    path = root / current(root).records
    wal_before = _wal_size(path)
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
            size = fh.seek(0, 2)
    except FileNotFoundError:
        return None  # nothing embedded yet
    settled = wal_before <= _WAL_HEADER and _wal_size(path) <= _WAL_HEADER
    reason = _header_damage(header, size, check_length=settled)
    if reason is None:
        reason = _read_damage(path)
    return None if reason is None else f"record log {path.name}: {reason}"


def _wal_size(path: Path) -> int:
    try:
        return Path(f"{path}-wal").stat().st_size
    except FileNotFoundError:
        return 0


def _header_damage(header: bytes, size: int, *, check_length: bool) -> str | None:
    if size == 0:
        return None  # created, schema not yet written
    if len(header) < 100 or not header.startswith(_MAGIC):
        return "not a SQLite file"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack(">I", header[28:32])[0]
    if check_length and (size < pages * page_size or size % page_size):
        return f"truncated ({size} bytes, its header counts {pages} pages of {page_size})"
    return None


def _read_damage(path: Path) -> str | None:
    try:
        with closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        ) as db:
            db.execute("SELECT max(seq) FROM changes").fetchone()
            db.execute("SELECT max(id) FROM records").fetchone()
    except sqlite3.OperationalError:
        return None  # locked or busy: not damage (the stores report outages themselves)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None


def faiss_diagnosis(root: Path) -> Diagnosis:
    """Return how the store's guard tells a damaged record log from other failures."""

    def damage(exc: BaseException) -> str | None:
        malformed = type(exc) is sqlite3.DatabaseError  # not a lock or a full disk
        return log_damage(root) or (f"record log: {exc}" if malformed else None)

    return Diagnosis(damage, REINDEX_VECTORS)
