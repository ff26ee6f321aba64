"""The FAISS store's part of ``mmrag backup``: its record log, and the snapshots that match.

The record log (SQLite) is the store's truth; it is copied with SQLite's online backup API
while its write lock is held. Snapshots are only a cache of the log: after the cut, the
newest one per shard that is not ahead of the copied log is kept.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from pathlib import Path

from mmrag.backup import sqlite_copy, write_locked

RECORDS = Path("index/faiss/records.sqlite")
SNAPSHOTS = Path("index/faiss/snapshots")


class FaissBackup:
    """:class:`mmrag.backup.StoreBackup` of the FAISS store under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    @contextmanager
    def paused(self) -> Iterator[None]:
        records = self.data_dir / RECORDS
        if not records.is_file():  # nothing embedded yet: nothing to pause
            yield
            return
        with write_locked(records):
            yield

    def copy_paused(self, out: Path) -> None:
        if (self.data_dir / RECORDS).is_file():
            sqlite_copy(self.data_dir / RECORDS, out / RECORDS)

    def copy_after(self, out: Path) -> None:
        seq = _seq(out)
        if seq is None:
            return
        newest: dict[str, tuple[int, Path]] = {}
        for path in (self.data_dir / SNAPSHOTS).glob("*.*.faiss"):
            key, snap_seq = path.name.split(".")[0], int(path.name.split(".")[1])
            if snap_seq <= seq and snap_seq > newest.get(key, (-1, path))[0]:
                newest[key] = (snap_seq, path)
        (out / SNAPSHOTS).mkdir(parents=True, exist_ok=True)
        for _, path in newest.values():
            with suppress(FileNotFoundError):  # pruned by a searcher meanwhile: the log rebuilds
                shutil.copy2(path, out / SNAPSHOTS / path.name)

    def figures(self, out: Path) -> Mapping[str, int]:
        if not (out / RECORDS).is_file():
            return {"vector_records": 0, "vector_seq": 0}
        with closing(sqlite3.connect(out / RECORDS)) as db:
            records = int(db.execute("SELECT count(*) FROM records").fetchone()[0])
        return {"vector_records": records, "vector_seq": _seq(out) or 0}


def _seq(out: Path) -> int | None:
    """Return the last change of the copied log (None when there is no log)."""
    if not (out / RECORDS).is_file():
        return None
    with closing(sqlite3.connect(out / RECORDS)) as db:
        return int(db.execute("SELECT max(seq) FROM changes").fetchone()[0] or 0)
