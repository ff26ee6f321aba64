"""Contract of a vector store: named spaces, per-collection data, filters inside the search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from index.filters import Filter, Payload


@dataclass(frozen=True)
class VectorRecord:
    payload: Payload
    vector: NDArray[np.float32]  # shape (dim,), L2-normalised


@dataclass(frozen=True)
class VectorHit:
    segment_id: str
    score: float  # cosine similarity (inner product of normalised vectors); higher is better


class VectorStore(Protocol):
    def ensure_space(self, space: str, dim: int) -> None:
        """Declare a space and its dimension (idempotent; a different dim is an error)."""

    def upsert(self, space: str, records: Sequence[VectorRecord]) -> None:
        """Add or replace records by segment id; visible to searchers within seconds."""

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        """Remove every record of these documents from every space."""

    def search(
        self, space: str, vector: NDArray[np.float32], k: int, where: Filter
    ) -> list[VectorHit]:
        """Return up to ``k`` hits best first; ``where`` is applied inside the search."""

    def count(self, space: str, where: Filter | None = None) -> int:
        """Return the number of live records in ``space`` (matching ``where`` if given)."""

    def close(self) -> None:
        """Flush and release files or connections."""
