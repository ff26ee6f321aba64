"""Documents read back from the catalog with their segments and payloads: what the embed and
index stages write, and what ``mmrag reindex`` rebuilds from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC

from sqlalchemy import exists, select

from index.bm25.base import TermDoc
from index.filters import Payload
from index.passage_context import passage_context
from mmrag.catalog import collections, documents
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import CollectionRow, DocumentRow, SegmentRow
from mmrag.domain import DocumentStatus, Modality, Segment
from mmrag.metadata import indexed_metadata

_GONE = (DocumentStatus.FAILED, DocumentStatus.DELETED)


@dataclass(frozen=True)
class Loaded:
    segments: list[Segment]
    payloads: list[Payload]
    blob_key: str
    job_id: str | None = None

    def term_docs(self) -> list[TermDoc]:
        """Return the BM25 documents of the text segments (as the index stage writes them)."""
        return [
            TermDoc(payload, segment.index_text)
            for segment, payload in zip(self.segments, self.payloads, strict=True)
            if segment.modality == Modality.TEXT and segment.text.strip()
        ]


def document_ids(catalog: Catalog, names: Sequence[str] | None) -> list[str]:
    """Return the documents with segments that are neither failed nor deleted (indexed, or
    on their way: the stage that indexes them rewrites the same entries), in ``names``."""
    query = (
        select(DocumentRow.id)
        .join(CollectionRow, CollectionRow.id == DocumentRow.collection_id)
        .where(DocumentRow.status.not_in([s.value for s in _GONE]))
        .where(exists().where(SegmentRow.document_id == DocumentRow.id))
        .order_by(DocumentRow.id)
    )
    if names is not None:
        query = query.where(CollectionRow.name.in_(list(names)))
    with catalog.session() as session:
        return list(session.scalars(query))


def load(catalog: Catalog, document_id: str) -> Loaded:
    """Return a document's segments with the payload every index stores beside them."""
    with catalog.session() as session:
        doc = session.get_one(DocumentRow, document_id)
        collection = session.get_one(CollectionRow, doc.collection_id)
        fields = collections.metadata_fields(collection)
        rows = documents.document_segments(session, doc.id)
        segments = [documents.to_segment(r, collection.name) for r in rows]
    title = doc.meta.get("title") if isinstance(doc.meta.get("title"), str) else None
    segments = [
        replace(s, context=passage_context(title, s.locator.section))
        if s.modality == Modality.TEXT
        else s
        for s in segments
    ]
    created = doc.created_at.replace(tzinfo=doc.created_at.tzinfo or UTC).timestamp()
    metadata = indexed_metadata(doc.meta, fields)
    payloads = [
        Payload(s.id, doc.id, collection.name, s.modality.value, doc.media_type or "", created,
                metadata)
        for s in segments
    ]  # fmt: skip
    return Loaded(segments, payloads, doc.sha256, doc.job_id)
