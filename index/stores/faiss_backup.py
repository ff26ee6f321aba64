"""The FAISS store's part of ``mmrag backup``: its record log, and the snapshots that match.

The record log (SQLite) is the store's truth; it is copied with SQLite's online backup API
while its write lock is held. Snapshots are only a cache of the log: after the cut, the
newest one per shard that is not ahead of the copied log is kept. After ``mmrag reindex``
replaced a damaged log, ``CURRENT`` names the log and snapshot folder to copy, and is
copied too (restore puts the folder back as it is).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from pathlib import Path

from index.stores.faiss_generation import POINTER, current
from mmrag.backup import sqlite_copy, write_locked

FAISS = Path("index/faiss")


class FaissBackup:
    """:class:`mmrag.backup.StoreBackup` of the FAISS store under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._resolve()

    def _resolve(self) -> None:
        """Find the current log (``mmrag reindex`` may have switched since)."""
        generation = current(self.data_dir / FAISS)
        self.records = FAISS / generation.records
        self.snapshots = FAISS / generation.snapshots

    @contextmanager
    def paused(self) -> Iterator[None]:
        self._resolve()  # a reindex may have switched the log since this object was made
        records = self.data_dir / self.records
        if not records.is_file():  # nothing embedded yet: nothing to pause
            yield
            return
        with write_locked(records):
            yield

    def copy_paused(self, out: Path) -> None:
        if (self.data_dir / self.records).is_file():
            sqlite_copy(self.data_dir / self.records, out / self.records)
        if (self.data_dir / FAISS / POINTER).is_file():
            shutil.copy2(self.data_dir / FAISS / POINTER, out / FAISS / POINTER)

    def copy_after(self, out: Path) -> None:
        seq = _seq(out / self.records)
        if seq is None:
            return
        newest: dict[str, tuple[int, Path]] = {}
        for path in (self.data_dir / self.snapshots).glob("*.*.faiss"):
            key, snap_seq = path.name.split(".")[0], int(path.name.split(".")[1])
            if snap_seq <= seq and snap_seq > newest.get(key, (-1, path))[0]:
                newest[key] = (snap_seq, path)
        (out / self.snapshots).mkdir(parents=True, exist_ok=True)
        for _, path in newest.values():
            with suppress(FileNotFoundError):  # pruned by a searcher meanwhile: the log rebuilds
                shutil.copy2(path, out / self.snapshots / path.name)

    def figures(self, out: Path) -> Mapping[str, int]:
        if not (out / self.records).is_file():
            return {"vector_records": 0, "vector_seq": 0}
        with closing(sqlite3.connect(out / self.records)) as db:
            records = int(db.execute("SELECT count(*) FROM records").fetchone()[0])
        return {"vector_records": records, "vector_seq": _seq(out / self.records) or 0}


def _seq(log: Path) -> int | None:
    """Return the last change of the copied log (None when there is no log)."""
    if not log.is_file():
        return None
    with closing(sqlite3.connect(log)) as db:
        return int(db.execute("SELECT max(seq) FROM changes").fetchone()[0] or 0)
