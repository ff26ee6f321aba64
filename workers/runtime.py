"""Per-process handles on the stores (catalog, blobs, BM25), opened lazily after fork."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from index.bm25.sqlite_fts import SqliteBM25
from mmrag.blobs import BlobStore
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings, get_settings


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    blobs: BlobStore
    bm25: SqliteBM25

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            catalog=Catalog(settings.resolved_catalog_url),
            blobs=BlobStore(settings.blob_dir),
            bm25=SqliteBM25(settings.index_dir / "bm25.sqlite"),
        )

    def close(self) -> None:
        self.catalog.dispose()


_lock = threading.Lock()
_runtimes: dict[int, Runtime] = {}


def runtime() -> Runtime:
    """Return this process's Runtime; a forked child never reuses its parent's connections.

    A parent's Runtime is kept referenced (never garbage-collected) in the child: closing
    its inherited SQLite or PostgreSQL handles there would break them in the parent.
    """
    pid = os.getpid()
    with _lock:
        if pid not in _runtimes:
            _runtimes[pid] = Runtime.open(get_settings())
        return _runtimes[pid]
