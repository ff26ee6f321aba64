"""A worker process's handles: catalog, blobs and what ``index/`` opens (stores, models).

Everything heavy opens lazily: a command that only queues files never loads a model.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cached_property

from index.bm25.base import BM25Index
from index.indexes import Indexes, open_indexes
from index.spaces.registry import SpaceRegistry
from index.stores.base import VectorStore
from index.threads import set_torch_threads, share_of_cores
from mmrag.blobs import BlobStore
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings
from retrieve.search import Retriever


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    blobs: BlobStore
    indexes: Indexes

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            catalog=Catalog(settings.resolved_catalog_url),
            blobs=BlobStore(settings.blob_dir),
            indexes=open_indexes(settings),
        )

    @property
    def bm25(self) -> BM25Index:
        return self.indexes.bm25

    @property
    def vectors(self) -> VectorStore:
        return self.indexes.vectors

    @property
    def spaces(self) -> SpaceRegistry:
        return self.indexes.spaces

    @cached_property
    def retriever(self) -> Retriever:
        """A retriever in this process (one-process use: benches, tests, a local search)."""
        return Retriever.from_settings(self.catalog, self.indexes, self.settings)

    def close(self) -> None:
        if "retriever" in self.__dict__:
            self.retriever.close()
        self.indexes.close()
        self.catalog.dispose()


_lock = threading.Lock()
_runtimes: dict[int, Runtime] = {}


def runtime(settings: Settings) -> Runtime:
    """Return this process's Runtime; a forked child never reuses its parent's connections.

    A parent's Runtime is kept referenced (never garbage-collected) in the child: closing
    its inherited SQLite or PostgreSQL handles there would break them in the parent.
    """
    pid = os.getpid()
    with _lock:
        if pid not in _runtimes:
            # The worker processes share the cores: each takes its share for torch, or
            # concurrency x all-cores threads oversubscribe them (bench/ingest.py).
            threads = share_of_cores(settings.worker_torch_threads, settings.worker_concurrency)
            set_torch_threads(threads)
            _runtimes[pid] = Runtime.open(settings)
        return _runtimes[pid]
