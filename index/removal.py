"""Removing documents everywhere: the catalog, every index, and blobs no one else shares."""

from __future__ import annotations

from index.indexes import Indexes
from mmrag.blobs import BlobStore
from mmrag.catalog import deletions
from mmrag.catalog.db import Catalog


def delete_document(
    catalog: Catalog, blobs: BlobStore, indexes: Indexes, document_id: str
) -> None:
    """Remove a document from the catalog, every index, and blobs no one else shares.

    The document is first marked deleted, so a crash part-way leaves a row the sweeper
    finishes; searches never return a deleted document's segments meanwhile.
    """
    with catalog.session() as session:
        deletions.mark_deleted(session, document_id)  # NotFound if absent
    purge(catalog, blobs, indexes, document_id)


def purge_deleted(catalog: Catalog, blobs: BlobStore, indexes: Indexes) -> int:
    """Finish deletions a crash interrupted; return how many documents were purged."""
    with catalog.session() as session:
        deleted = deletions.marked_deleted(session)
    for document_id in deleted:
        purge(catalog, blobs, indexes, document_id)
    return len(deleted)


def purge(catalog: Catalog, blobs: BlobStore, indexes: Indexes, document_id: str) -> None:
    """Drop ``document_id`` from the indexes, then its row, then its unshared blobs."""
    indexes.bm25.delete_documents([document_id])
    indexes.vectors.delete_documents([document_id])
    with catalog.session() as session:
        orphans = deletions.forget(session, document_id)
    for key in orphans:
        blobs.delete(key)
