"""Counts over the catalog for listings and metrics (documents by kind and state, segments)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mmrag.catalog.models import DocumentRow, SegmentRow
from mmrag.domain import DocumentStatus, media_kind


@dataclass(frozen=True)
class CollectionActivity:
    documents: int  # not deleted
    last_added_at: datetime | None


def activity_per_collection(session: Session) -> dict[int, CollectionActivity]:
    """Return collection id -> its live document count and when the newest one was added."""
    rows = session.execute(
        select(DocumentRow.collection_id, func.count(), func.max(DocumentRow.created_at))
        .where(DocumentRow.status != DocumentStatus.DELETED)
        .group_by(DocumentRow.collection_id)
    ).all()
    return {cid: CollectionActivity(count, last) for cid, count, last in rows}


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
