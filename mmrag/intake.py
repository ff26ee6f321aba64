"""Intake: accept incoming files as queued documents, and walk folders for bulk ingestion.

The API (uploads) and the CLI (``mmrag ingest``) both accept files here; the caller rings
the doorbell for what is new, and the sweeper repairs a ring that was lost.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from mmrag.blobs import BlobStore
from mmrag.catalog import collections, documents, jobs, leases
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import utcnow
from mmrag.domain import Stage
from mmrag.doorbell import Doorbell
from mmrag.errors import MmragError
from mmrag.settings import Settings

log = logging.getLogger(__name__)

_BATCH = 500


@dataclass(frozen=True)
class Intake:
    """Where accepted files go: the catalog, the blob store, and their limits."""

    settings: Settings
    catalog: Catalog
    blobs: BlobStore

    def accept(
        self,
        stream: BinaryIO,
        *,
        collection_id: int,
        job_id: str,
        filename: str,
        metadata: dict[str, Any] | None = None,
        source_uri: str | None = None,
    ) -> documents.Registration:
        """Store an incoming file's bytes and register it as a queued document of ``job_id``.

        Raises :class:`InsufficientStorage` below the disk headroom (API and CLI alike).
        """
        self.blobs.ensure_room(self.settings.min_free_bytes)
        key, size = self.blobs.put_stream(stream, self.settings.max_upload_bytes)
        with self.catalog.session() as session:
            return documents.register_document(
                session,
                collection_id=collection_id,
                job_id=job_id,
                filename=filename,
                blob_key=key,
                size=size,
                metadata=metadata,
                source_uri=source_uri,
            )


def walk(paths: Sequence[Path]) -> Iterator[Path | tuple[Path, str]]:
    """Yield files under ``paths`` in a stable order, or (path, reason) for unreadable ones."""
    for root in paths:
        if root.is_file():
            yield root
        elif root.is_dir():
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                for name in sorted(files):
                    path = Path(folder) / name
                    if path.is_file():
                        yield path
        else:
            yield root, "no such file or directory"


@dataclass
class PathsQueued:
    """A bulk job: its id, how many files were accepted, and those that were not read."""

    job_id: str
    accepted: int = 0
    unread: list[tuple[Path, str]] = field(default_factory=list)


def queue_paths(
    intake: Intake, doorbell: Doorbell, paths: Sequence[Path], collection: str
) -> PathsQueued:
    """Register every file under ``paths`` as a queued document of one new job."""
    with intake.catalog.session() as session:
        target = collections.ensure_collection(session, collection)
        target_id, job_id = target.id, jobs.create_job(session, target.id).id
    queued = PathsQueued(job_id)
    for item in walk(paths):
        if isinstance(item, tuple):
            queued.unread.append(item)
            continue
        try:
            with item.open("rb") as stream:
                reg = intake.accept(
                    stream,
                    collection_id=target_id,
                    job_id=job_id,
                    filename=item.name,
                    source_uri=str(item.resolve()),
                )
        except (OSError, MmragError) as exc:
            queued.unread.append((item, str(exc)))
            continue
        queued.accepted += 1
        if reg.created:  # announce as we go, so workers start before the walk ends
            doorbell.ring(Stage.EXTRACT, reg.document.id)
    return queued


def announce(doorbell: Doorbell, document_ids: Sequence[str]) -> None:
    """Ring for each new document; a broker that is down leaves them to the sweeper."""
    for document_id in document_ids:
        try:
            doorbell.ring(Stage.EXTRACT, document_id)
        except Exception:  # the broker is a doorbell; the sweeper re-sends what is queued
            log.warning("broker unavailable; %s stays queued for the sweeper", document_id)


def reannounce_at_start(catalog: Catalog, doorbell: Doorbell) -> int:
    """Ring for every document queued before now and every expired lease; return how many.

    Run as a service starts: an earlier run may have committed documents and died before
    ringing for them, and nothing else would announce them before ``requeue_after_seconds``.
    A document that does have a message gets a second one, which finds nothing to claim.
    """
    started, resent = utcnow(), 0
    while True:  # each batch is stamped re-enqueued after ``started``, so it is not seen again
        waited = (utcnow() - started).total_seconds()
        count = reannounce_strays(catalog, doorbell, waited, limit=_BATCH)
        resent += count
        if count < _BATCH:
            return resent


def reannounce_strays(
    catalog: Catalog, doorbell: Doorbell, requeue_after: float, limit: int = 500
) -> int:
    """Ring again for documents whose lease expired or that sat queued; return how many."""
    with catalog.session() as session:
        strays = leases.strays(session, requeue_after=requeue_after, limit=limit)
    for stray in strays:
        doorbell.ring(stray.stage, stray.document_id)
    if strays:
        log.info("sweeper re-enqueued %d documents", len(strays))
    return len(strays)
