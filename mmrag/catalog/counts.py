"""Counts over the catalog for listings and metrics (documents by kind and state, segments)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mmrag.catalog.models import DocumentRow, SegmentRow
from mmrag.domain import DocumentStatus, media_kind


def live_documents_per_collection(session: Session) -> dict[int, int]:
    """Return collection id -> number of documents not deleted."""
    rows = session.execute(
        select(DocumentRow.collection_id, func.count())
        .where(DocumentRow.status != DocumentStatus.DELETED)
        .group_by(DocumentRow.collection_id)
    ).all()
    return {collection_id: count for collection_id, count in rows}


def documents_by_kind_and_status(session: Session) -> dict[tuple[str, str], int]:
    """Return (media kind, status) -> number of documents."""
    rows = session.execute(
        select(DocumentRow.media_type, DocumentRow.status, func.count()).group_by(
            DocumentRow.media_type, DocumentRow.status
        )
    ).all()
    totals: dict[tuple[str, str], int] = {}
    for media_type, status, count in rows:
        key = (media_kind(media_type), str(status))
        totals[key] = totals.get(key, 0) + count
    return totals


def segments_by_modality(session: Session) -> dict[str, int]:
    """Return modality -> number of segments."""
    rows = session.execute(
        select(SegmentRow.modality, func.count()).group_by(SegmentRow.modality)
    ).all()
    return {str(modality): count for modality, count in rows}
