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
from index.engine_errors import Diagnosis, Errors, GuardedBM25, GuardedVectors, translated
from index.spaces.registry import SpaceRegistry
from index.stores.base import VectorStore
from index.stores.checks import UnknownSpace
from mmrag.errors import MmragError
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
            from index.stores.faiss_probe import faiss_diagnosis

            diagnosis = faiss_diagnosis(self.settings.index_dir / "faiss")
            with translated("faiss", FAISS_ERRORS, diagnosis):
                faiss = FaissStore.from_settings(self.settings)
            return GuardedVectors(faiss, "faiss", FAISS_ERRORS, diagnosis)

    @cached_property
    def bm25(self) -> BM25Index:
        with self._lock:
            engine, errors, diagnosis = self._bm25_engine()
            with translated(engine, errors, diagnosis):
                qdrant = self._qdrant if self.settings.vector_store == "qdrant" else None
                index = open_bm25(self.settings, qdrant=qdrant)
                return GuardedBM25(index, engine, errors, diagnosis)

    def _bm25_engine(self) -> tuple[str, Errors, Diagnosis | None]:
        if self.settings.vector_store == "qdrant":
            from index.stores.qdrant import ENGINE_ERRORS

            return "qdrant", ENGINE_ERRORS, None
        from index.bm25.tantivy_probe import tantivy_diagnosis

        # Its I/O errors are OSErrors, which callers already handle; damage is diagnosed.
        return "tantivy", (), tantivy_diagnosis(self.settings.index_dir / "bm25")

    @cached_property
    def spaces(self) -> SpaceRegistry:
        return SpaceRegistry(self.settings)

    @cached_property
    def _qdrant(self) -> QdrantClient:
        from index.stores.qdrant import open_qdrant_client

        with self._lock:
            return open_qdrant_client(self.settings)

    def probe(self) -> dict[str, dict[str, object]]:
        """Ask each store whether its files are whole and it answers, as /readyz reports
        it (bm25, vectors); a damaged store's reason names the command that rebuilds it."""
        backend = self.settings.vector_store
        try:
            self._check_files()
            bm25: dict[str, object] = {"up": True, "segments": self.bm25.count()}
        except Exception as exc:  # any failure to answer is "down", with its reason
            bm25 = {"up": False, "reason": _reason(exc)}
        try:
            self._check_files(vectors=True)
            entries = {space: self._entries(space) for space in self.settings.spaces}
            vectors: dict[str, object] = {"up": True, "backend": backend, "entries": entries}
        except Exception as exc:
            vectors = {"up": False, "backend": backend, "reason": _reason(exc)}
        return {"bm25": bm25, "vectors": vectors}

    def _check_files(self, *, vectors: bool = False) -> None:
        """Raise IndexDamaged when an embedded store's files are damaged (a few stats)."""
        if self.settings.vector_store == "qdrant":
            return
        from index.bm25.tantivy_probe import tantivy_diagnosis
        from index.stores.faiss_probe import faiss_diagnosis

        root = self.settings.index_dir
        engine, diagnosis = (
            ("faiss", faiss_diagnosis(root / "faiss"))
            if vectors
            else ("tantivy", tantivy_diagnosis(root / "bm25"))
        )
        damaged = diagnosis.of(engine, RuntimeError("probe"))
        if damaged is not None:
            raise damaged

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


def _reason(exc: Exception) -> str:
    return (exc.message if isinstance(exc, MmragError) else str(exc))[:300]


def open_indexes(settings: Settings) -> Indexes:
    """Return this process's handles on what ``index/`` owns (each opens on first use)."""
    return Indexes(settings)
