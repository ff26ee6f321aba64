"""Contract of a BM25 term index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TermDoc:
    """One text segment to index, with the fields filters apply to."""

    segment_id: str
    document_id: str
    collection: str
    modality: str
    media_type: str
    text: str


@dataclass(frozen=True)
class TermFilter:
    """Restrictions applied inside the index, before the top k is cut."""

    collections: Sequence[str] = ()
    document_ids: Sequence[str] = ()
    modalities: Sequence[str] = ()
    media_types: Sequence[str] = ()


@dataclass(frozen=True)
class TermHit:
    segment_id: str
    score: float


class BM25Index(Protocol):
    def add(self, docs: Sequence[TermDoc]) -> None:
        """Index ``docs``; a segment id already present is replaced, not duplicated."""

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        """Remove every segment of these documents."""

    def search(self, query: str, k: int, where: TermFilter) -> list[TermHit]:
        """Return up to ``k`` hits, best first; higher score is better."""

    def count(self) -> int:
        """Return the number of indexed segments."""
