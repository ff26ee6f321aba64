"""Removing documents everywhere: the catalog, every index, and blobs no one else shares."""

from __future__ import annotations

from sqlalchemy import select, update

from index.indexes import Indexes
from mmrag.blobs import BlobStore
from mmrag.catalog import documents
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import DocumentRow, utcnow
from mmrag.domain import DocumentStatus


def delete_document(
    catalog: Catalog, blobs: BlobStore, indexes: Indexes, document_id: str
) -> None:
    """Remove a document from the catalog, every index, and blobs no one else shares.

    The document is first marked deleted, so a crash part-way leaves a row the sweeper
    finishes; searches never return a deleted document's segments meanwhile.
    """
    with catalog.session() as session:
        documents.get_document(session, document_id)  # NotFound if absent
        session.execute(
            update(DocumentRow)
            .where(DocumentRow.id == document_id)
            .values(status=DocumentStatus.DELETED, lease_owner=None, updated_at=utcnow())
        )
    purge(catalog, blobs, indexes, document_id)


def purge_deleted(catalog: Catalog, blobs: BlobStore, indexes: Indexes) -> int:
    """Finish deletions a crash interrupted; return how many documents were purged."""
    with catalog.session() as session:
        deleted = list(
            session.scalars(
                select(DocumentRow.id).where(DocumentRow.status == DocumentStatus.DELETED)
            )
        )
    for document_id in deleted:
        purge(catalog, blobs, indexes, document_id)
    return len(deleted)


def purge(catalog: Catalog, blobs: BlobStore, indexes: Indexes, document_id: str) -> None:
    """Drop ``document_id`` from the indexes, then its row, then its unshared blobs."""
    indexes.bm25.delete_documents([document_id])
    indexes.vectors.delete_documents([document_id])
    with catalog.session() as session:
        keys = documents.blob_keys_of(session, document_id)
        doc = session.get(DocumentRow, document_id)
        if doc is not None:
            session.delete(doc)
        session.flush()
        orphans = documents.unreferenced(session, keys)
    for key in orphans:
        blobs.delete(key)
