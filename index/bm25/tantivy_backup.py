"""The tantivy BM25 index's part of ``mmrag backup``: its files, under its writer lock.

Every tantivy commit and merge happens under that lock, so while it is held the directory
is one committed state that nobody changes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from index.bm25.tantivy_index import writer_lock

BM25 = Path("index/bm25")
_LOCK_FILES = (".mmrag-writer.lock", ".tantivy-writer.lock", ".tantivy-meta.lock")


class TantivyBackup:
    """:class:`mmrag.backup.StoreBackup` of the tantivy index under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    @contextmanager
    def paused(self) -> Iterator[None]:
        path = self.data_dir / BM25
        if not path.is_dir():
            yield
            return
        with writer_lock(path):
            yield

    def copy_paused(self, out: Path) -> None:
        if (self.data_dir / BM25).is_dir():
            ignore = shutil.ignore_patterns(*_LOCK_FILES)
            shutil.copytree(self.data_dir / BM25, out / BM25, ignore=ignore)

    def copy_after(self, out: Path) -> None:
        return None  # no cache beside the index

    def figures(self, out: Path) -> Mapping[str, int]:
        return {}
