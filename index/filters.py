"""Filters applied inside every channel (BM25 and each vector store), before the top k."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Range:
    """Inclusive bounds; either may be None (open). Numbers, or ISO dates as epoch seconds."""

    gte: float | None = None
    lte: float | None = None

    def contains(self, value: Any) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return (self.gte is None or value >= self.gte) and (self.lte is None or value <= self.lte)


@dataclass(frozen=True)
class Filter:
    """What a hit must satisfy. Empty sequences mean "any".

    ``metadata_equals`` maps a declared metadata field to a value or a list of accepted
    values; ``metadata_ranges`` maps a numeric or date field to a :class:`Range`;
    ``created`` bounds the document's ingestion time (epoch seconds).
    """

    collections: Sequence[str] = ()
    document_ids: Sequence[str] = ()
    modalities: Sequence[str] = ()
    media_types: Sequence[str] = ()
    metadata_equals: Mapping[str, Scalar | Sequence[Scalar]] = field(default_factory=dict)
    metadata_ranges: Mapping[str, Range] = field(default_factory=dict)
    created: Range | None = None

    def matches(self, payload: Payload) -> bool:
        """Return whether ``payload`` passes (the reference semantics every backend follows)."""
        if self.collections and payload.collection not in self.collections:
            return False
        if self.document_ids and payload.document_id not in self.document_ids:
            return False
        if self.modalities and payload.modality not in self.modalities:
            return False
        if self.media_types and payload.media_type not in self.media_types:
            return False
        if self.created is not None and not self.created.contains(payload.created_at):
            return False
        for name, wanted in self.metadata_equals.items():
            accepted = wanted if isinstance(wanted, list | tuple) else [wanted]
            if payload.metadata.get(name) not in accepted:
                return False
        return all(r.contains(payload.metadata.get(n)) for n, r in self.metadata_ranges.items())


@dataclass(frozen=True)
class Payload:
    """What every index stores beside a segment, for filtering."""

    segment_id: str
    document_id: str
    collection: str
    modality: str
    media_type: str
    created_at: float = 0.0
    metadata: Mapping[str, Scalar] = field(default_factory=dict)
