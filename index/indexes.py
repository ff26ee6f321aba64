"""What ``index/`` owns, opened from settings: the vector store, the BM25 index, the spaces.

Each entry point opens these once per process. Stores open lazily: a command that only
queues files never opens an index or loads a model. In Qdrant mode the vector store and the
BM25 index share one client (local mode allows one client per folder).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from index.bm25 import open_bm25
from index.bm25.base import BM25Index
from index.engine_errors import Errors, GuardedBM25, GuardedVectors, translated
from index.spaces.registry import SpaceRegistry
from index.stores.base import VectorStore
from index.stores.checks import UnknownSpace
from mmrag.settings import Settings

if TYPE_CHECKING:
    from qdrant_client import QdrantClient


@dataclass
class Indexes:
    """The vector store, BM25 index and embedding spaces of one process."""

    settings: Settings
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @cached_property
    def vectors(self) -> VectorStore:
        with self._lock:
            if self.settings.vector_store == "qdrant":
                from index.stores.qdrant import ENGINE_ERRORS, QdrantStore

                with translated("qdrant", ENGINE_ERRORS):
                    qdrant = QdrantStore(self._qdrant)
                return GuardedVectors(qdrant, "qdrant", ENGINE_ERRORS)
            from index.stores.faiss import ENGINE_ERRORS as FAISS_ERRORS
            from index.stores.faiss import FaissStore

            with translated("faiss", FAISS_ERRORS):
                faiss = FaissStore.from_settings(self.settings)
            return GuardedVectors(faiss, "faiss", FAISS_ERRORS)

    @cached_property
    def bm25(self) -> BM25Index:
        with self._lock:
            engine, errors = self._bm25_engine()
            with translated(engine, errors):
                qdrant = self._qdrant if self.settings.vector_store == "qdrant" else None
                return GuardedBM25(open_bm25(self.settings, qdrant=qdrant), engine, errors)

    def _bm25_engine(self) -> tuple[str, Errors]:
        if self.settings.vector_store == "qdrant":
            from index.stores.qdrant import ENGINE_ERRORS

            return "qdrant", ENGINE_ERRORS
        return "tantivy", ()  # its I/O errors are OSErrors, which callers already handle

    @cached_property
    def spaces(self) -> SpaceRegistry:
        return SpaceRegistry(self.settings)

    @cached_property
    def _qdrant(self) -> QdrantClient:
        from index.stores.qdrant import open_qdrant_client

        with self._lock:
            return open_qdrant_client(self.settings)

    def probe(self) -> dict[str, dict[str, object]]:
        """Ask each store whether it answers, as /readyz reports it (bm25, vectors)."""
        backend = self.settings.vector_store
        try:
            bm25: dict[str, object] = {"up": True, "segments": self.bm25.count()}
        except Exception as exc:  # any failure to answer is "down", with its reason
            bm25 = {"up": False, "reason": str(exc)[:200]}
        try:
            entries = {space: self._entries(space) for space in self.settings.spaces}
            vectors: dict[str, object] = {"up": True, "backend": backend, "entries": entries}
        except Exception as exc:
            vectors = {"up": False, "backend": backend, "reason": str(exc)[:200]}
        return {"bm25": bm25, "vectors": vectors}

    def _entries(self, space: str) -> int:
        try:
            return self.vectors.count(space)
        except UnknownSpace:  # nothing embedded in this space yet
            return 0

    def opened(self) -> list[str]:
        """Return the names of the stores this process has opened so far."""
        return [name for name in ("vectors", "bm25") if name in self.__dict__]

    def close(self) -> None:
        for name in self.opened():
            self.__dict__.pop(name).close()
        client = self.__dict__.pop("_qdrant", None)
        if client is not None:
            client.close()


def open_indexes(settings: Settings) -> Indexes:
    """Return this process's handles on what ``index/`` owns (each opens on first use)."""
    return Indexes(settings)
