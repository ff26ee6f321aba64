"""Deleting documents everywhere, and the sweeper that re-announces stranded work."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from sqlalchemy import delete, select, update

from mmrag.catalog import documents, leases
from mmrag.catalog.models import DocumentRow, WorkerRow, utcnow
from mmrag.domain import DocumentStatus, Stage
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def delete_document(rt: Runtime, document_id: str) -> None:
    """Remove a document from the catalog, every index, and blobs no one else shares.

    The document is first marked deleted, so a crash part-way leaves a row the sweeper
    finishes; searches never return a deleted document's segments meanwhile.
    """
    with rt.catalog.session() as session:
        documents.get_document(session, document_id)  # NotFound if absent
        session.execute(
            update(DocumentRow)
            .where(DocumentRow.id == document_id)
            .values(status=DocumentStatus.DELETED, lease_owner=None, updated_at=utcnow())
        )
    _purge(rt, document_id)


def _purge(rt: Runtime, document_id: str) -> None:
    rt.bm25.delete_documents([document_id])
    rt.vectors.delete_documents([document_id])
    with rt.catalog.session() as session:
        keys = documents.blob_keys_of(session, document_id)
        doc = session.get(DocumentRow, document_id)
        if doc is not None:
            session.delete(doc)
        session.flush()
        orphans = documents.unreferenced(session, keys)
    for key in orphans:
        rt.blobs.delete(key)


def sweep(rt: Runtime, send: Callable[[Stage, str], None]) -> int:
    """Re-send tasks for stranded documents and finish interrupted deletions; return count."""
    with rt.catalog.session() as session:
        strays = leases.strays(session, requeue_after=rt.settings.requeue_after_seconds)
        deleted = list(
            session.scalars(
                select(DocumentRow.id).where(DocumentRow.status == DocumentStatus.DELETED)
            )
        )
    for stray in strays:
        send(stray.stage, stray.document_id)
    for document_id in deleted:
        _purge(rt, document_id)
    if strays:
        log.info("sweeper re-enqueued %d documents", len(strays))
    return len(strays)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat(rt: Runtime, owner: str) -> None:
    with rt.catalog.session() as session:
        row = session.get(WorkerRow, owner)
        if row is None:
            session.add(WorkerRow(id=owner, last_seen=utcnow()))
        else:
            row.last_seen = utcnow()


class Sweeper(threading.Thread):
    """Background thread: heartbeat this worker and sweep every ``interval`` seconds."""

    def __init__(self, rt: Runtime, send: Callable[[Stage, str], None], interval: float) -> None:
        super().__init__(name="mmrag-sweeper", daemon=True)
        self.rt, self.send, self.interval = rt, send, interval
        self.stopped = threading.Event()
        self.owner = worker_id()

    def run(self) -> None:
        while True:
            try:
                heartbeat(self.rt, self.owner)
                sweep(self.rt, self.send)
            except Exception:  # the sweeper must outlive a broker or database hiccup
                log.exception("sweep failed; trying again in %.0fs", self.interval)
            if self.stopped.wait(self.interval):
                return

    def stop(self) -> None:
        """Stop sweeping and withdraw this worker's heartbeat, so it no longer counts as live."""
        self.stopped.set()
        with self.rt.catalog.session() as session:
            session.execute(delete(WorkerRow).where(WorkerRow.id == self.owner))
