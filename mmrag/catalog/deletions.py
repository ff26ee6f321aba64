"""Deleting a document from the catalog: mark it first, forget it once the indexes are purged.

A document marked deleted is never returned by a search (hydration skips it) and is purged
by the sweeper if a crash interrupts its deletion.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mmrag.catalog import documents
from mmrag.catalog.models import DocumentRow, utcnow
from mmrag.domain import DocumentStatus


def mark_deleted(session: Session, document_id: str) -> None:
    """Mark ``document_id`` deleted and drop its lease; NotFound if it does not exist."""
    documents.get_document(session, document_id)
    session.execute(
        update(DocumentRow)
        .where(DocumentRow.id == document_id)
        .values(status=DocumentStatus.DELETED, lease_owner=None, updated_at=utcnow())
    )


def marked_deleted(session: Session) -> list[str]:
    """Return the ids of documents marked deleted and not yet forgotten."""
    query = select(DocumentRow.id).where(DocumentRow.status == DocumentStatus.DELETED)
    return list(session.scalars(query))


def forget(session: Session, document_id: str) -> set[str]:
    """Delete the document's row (and its segments); return blob keys no one references now."""
    keys = documents.blob_keys_of(session, document_id)
    doc = session.get(DocumentRow, document_id)
    if doc is not None:
        session.delete(doc)
    session.flush()
    return documents.unreferenced(session, keys)
