"""Contract of a BM25 term index, on the shared filter types of :mod:`index.filters`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from index.filters import Filter, Payload

# Okapi BM25 parameters every backend uses (rank-bm25's BM25Okapi defaults to k1=1.5).
K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class TermDoc:
    """One segment to index: its payload (what filters see) and its text."""

    payload: Payload
    text: str


@dataclass(frozen=True)
class TermHit:
    segment_id: str
    score: float  # BM25; higher is better


class BM25Index(Protocol):
    def add(self, docs: Sequence[TermDoc]) -> None:
        """Index ``docs``; a segment id already present is replaced, not duplicated."""

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        """Remove every segment of these documents."""

    def search(self, query: str, k: int, where: Filter) -> list[TermHit]:
        """Return up to ``k`` hits best first; ``where`` is applied inside the index."""

    def count(self) -> int:
        """Return the number of indexed segments."""

    def close(self) -> None:
        """Release files and connections."""
