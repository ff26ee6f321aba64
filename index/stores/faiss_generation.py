"""Which record log of the FAISS store is current: the ``CURRENT`` file names it.

A damaged SQLite log cannot be repaired in place (SQLite refuses to write over a malformed
file), and a new file renamed over the old name would meet the old file's WAL, which
processes still holding the old file may write to or delete. So ``mmrag reindex`` builds a
new log under a new name and switches ``CURRENT`` to it crash-atomically; every process
checks the pointer (one ``stat``) before it searches and inside each write transaction, so
searchers see the rebuilt log without a restart and no write lands in a log that is gone.
Without ``CURRENT`` the log is ``records.sqlite`` and its snapshots ``snapshots/``.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from mmrag.atomic_file import write_atomic

POINTER = "CURRENT"
DEFAULT_RECORDS = "records.sqlite"


@dataclass(frozen=True)
class Generation:
    """One record log and the snapshot folder that caches it."""

    records: str = DEFAULT_RECORDS

    @property
    def snapshots(self) -> str:
        if self.records == DEFAULT_RECORDS:
            return "snapshots"
        return "snapshots-" + self.records.removeprefix("records-").removesuffix(".sqlite")

    def files(self, root: Path) -> list[Path]:
        """Return every file and folder of this generation under ``root``."""
        records = root / self.records
        return [records, Path(f"{records}-wal"), Path(f"{records}-shm"), root / self.snapshots]


def new_generation() -> Generation:
    return Generation(f"records-{uuid.uuid4().hex[:12]}.sqlite")


def current(root: Path) -> Generation:
    """Return the generation ``CURRENT`` names (the default one when there is no pointer)."""
    try:
        return Generation(str(json.loads((root / POINTER).read_bytes())["records"]))
    except FileNotFoundError:
        return Generation()


def stamp(root: Path) -> tuple[int, int]:
    """Return what changes whenever ``CURRENT`` is switched (inode and mtime; zeros if none)."""
    try:
        info = os.stat(root / POINTER)
    except FileNotFoundError:
        return (0, 0)
    return (info.st_ino, info.st_mtime_ns)


def switch(root: Path, generation: Generation) -> None:
    """Make ``generation`` current, crash-atomically."""
    write_atomic(root / POINTER, json.dumps({"records": generation.records}).encode())
