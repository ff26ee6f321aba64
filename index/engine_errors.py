"""The stores' boundary: an engine's outage or full disk becomes the kernel's error.

:func:`open_indexes` wraps every store it opens in one of these guards, with the exception
types that store's engine raises when it is unreachable, locked or out of space (declared
beside each implementation as ``ENGINE_ERRORS``). Callers (the pipeline, the retriever,
/readyz) then see :class:`TransientError` or :class:`InsufficientStorage`, never a
sqlite3, httpx or qdrant-client exception. An embedded store can also be damaged (a
truncated file): any other failure asks the store's cheap damage probe, and a damaged store
becomes :class:`IndexDamaged`, naming the file and the ``mmrag reindex`` command that
rebuilds it. Other exceptions pass unchanged: a bug is not an outage.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.bm25.base import BM25Index, TermDoc, TermHit
from index.filters import Filter
from index.stores.base import VectorHit, VectorRecord, VectorStore
from mmrag.errors import MmragError, from_engine

Errors = tuple[type[BaseException], ...]
REINDEX_BM25 = "rebuild it from the catalog with `mmrag reindex --bm25`"
REINDEX_VECTORS = "rebuild it from the catalog with `mmrag reindex --vectors SPACE`"
# Given the failure, return why the store's files are damaged (None when they are whole).
Damage = Callable[[BaseException], str | None]


class IndexDamaged(MmragError):
    """An embedded index's files are damaged: its channel is out until it is rebuilt."""

    status = 503
    code = "index_damaged"


@dataclass(frozen=True)
class Diagnosis:
    """How to tell that a store is damaged, and the command that rebuilds it."""

    damage: Damage
    fix: str

    def of(self, engine: str, exc: BaseException) -> IndexDamaged | None:
        reason = self.damage(exc)
        if reason is None:
            return None
        return IndexDamaged(f"{engine} index is damaged ({reason}): {self.fix}")


@contextmanager
def translated(engine: str, errors: Errors, diagnosis: Diagnosis | None = None) -> Iterator[None]:
    """Raise ``engine``'s ``errors`` inside the block as the kernel's error, and any
    failure of a store that ``diagnosis`` finds damaged as :class:`IndexDamaged`."""
    try:
        yield
    except MmragError:
        raise
    except errors as exc:
        damaged = diagnosis.of(engine, exc) if diagnosis else None
        raise (damaged or from_engine(engine, exc)) from exc
    except Exception as exc:
        damaged = diagnosis.of(engine, exc) if diagnosis else None
        if damaged is None:
            raise
        raise damaged from exc


class _Guard:
    def __init__(self, engine: str, errors: Errors, diagnosis: Diagnosis | None = None) -> None:
        self.engine, self.errors, self.diagnosis = engine, errors, diagnosis

    inner: Any

    def translated(self) -> contextlib.AbstractContextManager[None]:
        return translated(self.engine, self.errors, self.diagnosis)

    def __getattr__(self, name: str) -> Any:
        # A backend's extras beyond the Protocol (FAISS snapshots, say) stay reachable.
        return getattr(self.inner, name)


class GuardedVectors(_Guard):
    """A :class:`VectorStore` whose engine errors arrive as the kernel's errors."""

    def __init__(
        self, inner: VectorStore, engine: str, errors: Errors, diagnosis: Diagnosis | None = None
    ) -> None:
        super().__init__(engine, errors, diagnosis)
        self.inner = inner

    def ensure_space(self, space: str, dim: int) -> None:
        with self.translated():
            self.inner.ensure_space(space, dim)

    def upsert(self, space: str, records: Sequence[VectorRecord]) -> None:
        with self.translated():
            self.inner.upsert(space, records)

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        with self.translated():
            self.inner.delete_documents(document_ids)

    def search(
        self, space: str, vector: NDArray[np.float32], k: int, where: Filter
    ) -> list[VectorHit]:
        with self.translated():
            return self.inner.search(space, vector, k, where)

    def count(self, space: str, where: Filter | None = None) -> int:
        with self.translated():
            return self.inner.count(space, where)

    def close(self) -> None:
        with self.translated():
            self.inner.close()


class GuardedBM25(_Guard):
    """A :class:`BM25Index` whose engine errors arrive as the kernel's errors."""

    def __init__(
        self, inner: BM25Index, engine: str, errors: Errors, diagnosis: Diagnosis | None = None
    ) -> None:
        super().__init__(engine, errors, diagnosis)
        self.inner = inner

    def add(self, docs: Sequence[TermDoc]) -> None:
        with self.translated():
            self.inner.add(docs)

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        with self.translated():
            self.inner.delete_documents(document_ids)

    def search(self, query: str, k: int, where: Filter) -> list[TermHit]:
        with self.translated():
            return self.inner.search(query, k, where)

    def count(self) -> int:
        with self.translated():
            return self.inner.count()

    def close(self) -> None:
        with self.translated():
            self.inner.close()
