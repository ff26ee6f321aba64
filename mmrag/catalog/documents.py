"""Documents and their segments: registration (with dedup), listing, deletion."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mmrag.catalog.jobs import bump, wait_for_duplicate
from mmrag.catalog.models import CollectionRow, DocumentRow, SegmentRow, utcnow
from mmrag.domain import DocumentStatus, Locator, Modality, Segment, Stage
from mmrag.errors import BadInput, NotFound


@dataclass(frozen=True)
class Registration:
    document: DocumentRow
    created: bool


def register_document(
    session: Session,
    *,
    collection_id: int,
    job_id: str | None,
    filename: str,
    blob_key: str,
    size: int,
    metadata: dict[str, Any] | None = None,
    source_uri: str | None = None,
) -> Registration:
    """Add a queued document, or return the existing one with the same bytes.

    A duplicate counts as skipped in the job; a previously failed duplicate is queued again.
    """
    existing = _by_hash(session, collection_id, blob_key)
    if existing is not None:
        return _reuse(session, existing, job_id)
    row = DocumentRow(
        id=uuid.uuid4().hex,
        collection_id=collection_id,
        job_id=job_id,
        filename=filename,
        source_uri=source_uri,
        sha256=blob_key,
        size=size,
        status=DocumentStatus.QUEUED,
        stage=Stage.EXTRACT,
        meta=dict(metadata or {}),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a concurrent upload of the same bytes won
        existing = _by_hash(session, collection_id, blob_key)
        if existing is None:
            raise
        return _reuse(session, existing, job_id)
    bump(session, job_id, total=1)
    return Registration(row, created=True)


def _by_hash(session: Session, collection_id: int, sha256: str) -> DocumentRow | None:
    return session.scalar(
        select(DocumentRow).where(
            DocumentRow.collection_id == collection_id, DocumentRow.sha256 == sha256
        )
    )


def _reuse(session: Session, row: DocumentRow, job_id: str | None) -> Registration:
    if row.status == DocumentStatus.FAILED:
        row.status, row.stage, row.job_id = DocumentStatus.QUEUED, Stage.EXTRACT, job_id
        row.error = row.error_code = None
        row.attempts = 0
        row.enqueued_at = row.updated_at = utcnow()
        bump(session, job_id, total=1)
        return Registration(row, created=True)
    bump(session, job_id, total=1, skipped=1)
    wait_for_duplicate(session, job_id, row)  # done only once this copy is
    return Registration(row, created=False)


def get_document(session: Session, document_id: str) -> DocumentRow:
    row = session.get(DocumentRow, document_id)
    if row is None or row.status == DocumentStatus.DELETED:
        raise NotFound(f"document {document_id[:64]!r} does not exist", code="document_not_found")
    return row


def list_documents(
    session: Session,
    collection_id: int,
    *,
    status: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[DocumentRow]:
    """Return up to ``limit`` documents ordered by id, starting after cursor ``after``."""
    if status is not None and status not in DocumentStatus.__members__.values():
        allowed = ", ".join(s.value for s in DocumentStatus)
        raise BadInput(f"unknown status {status[:32]!r}; one of {allowed}", code="bad_filter")
    query = select(DocumentRow).where(DocumentRow.collection_id == collection_id)
    query = query.where(DocumentRow.status != DocumentStatus.DELETED)
    if status is not None:
        query = query.where(DocumentRow.status == status)
    if after is not None:
        query = query.where(DocumentRow.id > after)
    return list(session.scalars(query.order_by(DocumentRow.id).limit(limit)))


def document_segments(session: Session, document_id: str) -> list[SegmentRow]:
    return list(
        session.scalars(
            select(SegmentRow)
            .where(SegmentRow.document_id == document_id)
            .order_by(SegmentRow.ordinal)
        )
    )


def replace_segments(session: Session, document_id: str, segments: Sequence[SegmentRow]) -> None:
    """Swap a document's segments for ``segments`` (a redelivered task rewrites, never adds)."""
    session.execute(delete(SegmentRow).where(SegmentRow.document_id == document_id))
    session.add_all(segments)


def segments_by_id(session: Session, ids: Sequence[str]) -> dict[str, Segment]:
    """Hydrate segment ids into domain Segments of indexed documents (with collection names)."""
    rows = session.execute(
        select(
            SegmentRow, CollectionRow.name, DocumentRow.sha256, DocumentRow.media_type,
            DocumentRow.status,
        )
        .join(DocumentRow, DocumentRow.id == SegmentRow.document_id)
        .join(CollectionRow, CollectionRow.id == DocumentRow.collection_id)
        .where(SegmentRow.id.in_(list(ids)))
    ).all()  # fmt: skip
    # The status is checked here, not in SQL: given a status condition, SQLite's planner
    # walks every indexed document's segments instead of looking the ids up (160 ms vs 7 ms
    # at 300k segments, bench/search.py).
    return {
        row.id: to_segment(row, name, source_key=key, source_type=media_type)
        for row, name, key, media_type, status in rows
        if status == DocumentStatus.INDEXED
    }


def to_segment(
    row: SegmentRow,
    collection: str,
    *,
    source_key: str | None = None,
    source_type: str | None = None,
) -> Segment:
    return Segment(
        id=row.id,
        document_id=row.document_id,
        collection=collection,
        ordinal=row.ordinal,
        modality=Modality(row.modality),
        text=row.text,
        locator=Locator.from_json(row.locator),
        media_key=row.media_key,
        media_type=row.media_type,
        source_key=source_key,
        source_type=source_type,
    )


def blob_keys_of(session: Session, document_id: str) -> set[str]:
    """Return every blob key a document references (original, thumbnail, segment media)."""
    doc = session.get(DocumentRow, document_id)
    keys = {k for k in (doc.sha256, doc.thumbnail_key) if k} if doc else set()
    keys.update(
        k
        for k in session.scalars(
            select(SegmentRow.media_key).where(SegmentRow.document_id == document_id)
        )
        if k
    )
    return keys


def unreferenced(session: Session, keys: set[str]) -> set[str]:
    """Return the subset of ``keys`` that no document or segment references any more."""
    if not keys:
        return set()
    used: set[str | None] = set()
    for column in (DocumentRow.sha256, DocumentRow.thumbnail_key, SegmentRow.media_key):
        used.update(session.scalars(select(column).where(column.in_(keys))))
    return keys - used


def count_segments(session: Session, document_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SegmentRow)
            .where(SegmentRow.document_id == document_id)
        )
        or 0
    )


def media_type_of(session: Session, key: str) -> str | None:
    """Return the content type recorded for blob ``key`` (segment media, original, thumbnail)."""
    found = session.scalar(
        select(SegmentRow.media_type).where(SegmentRow.media_key == key).limit(1)
    )
    if found:
        return found
    original = session.scalar(
        select(DocumentRow.media_type).where(DocumentRow.sha256 == key).limit(1)
    )
    if original:
        return original
    thumbnail = select(DocumentRow.id).where(DocumentRow.thumbnail_key == key).limit(1)
    return "image/png" if session.scalar(thumbnail) else None


def collections_of_blob(session: Session, key: str) -> set[str]:
    """Return the names of the collections whose documents use blob ``key`` in any role."""
    segment_docs = select(SegmentRow.document_id).where(SegmentRow.media_key == key)
    rows = session.scalars(
        select(CollectionRow.name)
        .join(DocumentRow, DocumentRow.collection_id == CollectionRow.id)
        .where(
            (DocumentRow.sha256 == key)
            | (DocumentRow.thumbnail_key == key)
            | DocumentRow.id.in_(segment_docs)
        )
        .distinct()
    )
    return set(rows)
