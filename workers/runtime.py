"""Per-process handles on the stores (catalog, blobs, BM25, vectors) and the models.

Everything heavy opens lazily: a CLI command that only queues files never loads a model.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property

from index.bm25 import open_bm25
from index.bm25.base import BM25Index
from index.spaces.registry import SpaceRegistry
from index.stores.base import VectorStore
from mmrag.blobs import BlobStore
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings, get_settings
from retrieve.search import Retriever


def open_vector_store(settings: Settings) -> VectorStore:
    """Return the configured vector store (FAISS embedded, or Qdrant)."""
    if settings.vector_store == "qdrant":
        from index.stores.qdrant import QdrantStore

        return QdrantStore.from_settings(settings)
    from index.stores.faiss import FaissStore

    return FaissStore.from_settings(settings)


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    blobs: BlobStore
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            catalog=Catalog(settings.resolved_catalog_url),
            blobs=BlobStore(settings.blob_dir),
        )

    @cached_property
    def bm25(self) -> BM25Index:
        # In Qdrant mode BM25 lives in Qdrant too, on the vector store's client (local mode
        # allows one client per path).
        client = (
            getattr(self.vectors, "client", None)
            if self.settings.vector_store == "qdrant"
            else None
        )
        with self._lock:
            return open_bm25(self.settings, qdrant=client)

    @cached_property
    def vectors(self) -> VectorStore:
        with self._lock:
            return open_vector_store(self.settings)

    @cached_property
    def spaces(self) -> SpaceRegistry:
        return SpaceRegistry(self.settings)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.catalog, self.bm25, self.vectors, self.spaces)

    def close(self) -> None:
        for name in ("bm25", "vectors"):
            if name in self.__dict__:
                self.__dict__[name].close()
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
