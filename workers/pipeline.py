"""The three stages of ingestion for one document, independent of the broker.

Each stage claims the document's lease, does its work idempotently, and hands the document
to the next stage (or marks it indexed/failed) only while it still holds the lease.
Celery tasks in :mod:`workers.tasks` are thin wrappers around :func:`run_stage`.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from index.bm25.base import TermDoc
from ingest.base import ExtractOptions
from ingest.extract import extract_file
from mmrag.catalog import documents, leases
from mmrag.catalog.models import CollectionRow, DocumentRow, SegmentRow
from mmrag.domain import Modality, Stage
from mmrag.errors import BadInput, TransientError
from workers.runtime import Runtime

log = logging.getLogger(__name__)

# No embedding space exists yet, so extraction hands documents straight to indexing and
# saves a broker round trip and a claim per document; the embed stage (and its queue) only
# passes documents on. Embedding spaces will route extract -> embed -> index.
NEXT_STAGE = {Stage.EXTRACT: Stage.INDEX, Stage.EMBED: Stage.INDEX}


class LeaseLost(Exception):
    """Another worker took over this document; our results must not be committed."""


@dataclass(frozen=True)
class Outcome:
    """What the caller should do next: send ``next_stage``, retry after ``retry_in``, or stop."""

    next_stage: Stage | None = None
    retry_in: float | None = None


def run_stage(rt: Runtime, document_id: str, stage: Stage, owner: str) -> Outcome:
    """Run ``stage`` for ``document_id`` if this worker can claim it."""
    with rt.catalog.session() as session:
        claim = leases.claim(session, document_id, stage, owner, rt.settings.lease_seconds)
    if claim is None:
        return Outcome()  # duplicate delivery or someone else holds it: nothing to do
    max_attempts = rt.settings.task_max_retries + 1
    if claim.attempts > max_attempts + 2:  # killed its worker over and over: a poison pill
        _fail(rt, claim, "worker_crashed", f"gave up after {claim.attempts - 1} attempts")
        return Outcome()
    try:
        with _keep_lease(rt, claim):
            STAGES[stage](rt, claim)
    except LeaseLost:
        log.warning("lease on %s lost during %s; leaving it to its new owner", document_id, stage)
        return Outcome()
    except BadInput as exc:
        _fail(rt, claim, exc.code, exc.message)
        return Outcome()
    except (TransientError, OperationalError, ConnectionError, TimeoutError) as exc:
        return _retry_or_fail(rt, claim, exc, max_attempts)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            _fail(rt, claim, "disk_full", "no space left on the data volume; free space and retry")
            return Outcome()
        return _retry_or_fail(rt, claim, exc, max_attempts)
    except Exception as exc:  # a bug or a library choking on hostile input: fail, don't loop
        log.exception("stage %s failed for %s", stage, document_id)
        _fail(rt, claim, "processing_failed", f"{stage.value} failed: {type(exc).__name__}: {exc}")
        return Outcome()
    return Outcome(next_stage=NEXT_STAGE.get(stage))


def _retry_or_fail(rt: Runtime, claim: leases.Claim, exc: Exception, max_attempts: int) -> Outcome:
    reason = f"{type(exc).__name__}: {exc}"
    if claim.attempts >= max_attempts:
        _fail(rt, claim, "transient_error", f"gave up after {claim.attempts} attempts: {reason}")
        return Outcome()
    with rt.catalog.session() as session:
        leases.release(session, claim)
    delay = min(2.0**claim.attempts, 60.0)
    log.warning("retrying %s of %s in %.0fs: %s", claim.stage, claim.document_id, delay, reason)
    return Outcome(retry_in=delay)


def _fail(rt: Runtime, claim: leases.Claim, code: str, reason: str) -> None:
    with rt.catalog.session() as session:
        doc = session.get(DocumentRow, claim.document_id)
        leases.fail(session, claim, doc.job_id if doc else None, code, reason)


@contextmanager
def _keep_lease(rt: Runtime, claim: leases.Claim) -> Iterator[None]:
    """Renew the lease in the background while the stage works."""
    stop = threading.Event()
    lost = threading.Event()

    def renew() -> None:
        while not stop.wait(rt.settings.lease_seconds / 3):
            try:
                with rt.catalog.session() as session:
                    if not leases.renew(session, claim, rt.settings.lease_seconds):
                        lost.set()
                        return
            except OperationalError:
                log.warning("could not renew lease on %s; will try again", claim.document_id)

    thread = threading.Thread(target=renew, name=f"lease-{claim.document_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if lost.is_set():
        raise LeaseLost(claim.document_id)


def _extract(rt: Runtime, claim: leases.Claim) -> None:
    with rt.catalog.session() as session:
        doc = documents.get_document(session, claim.document_id)
        doc_id, blob_key = doc.id, doc.sha256
    extraction = extract_file(rt.blobs.path(blob_key), ExtractOptions.from_settings(rt.settings))
    rows = []
    for ordinal, seg in enumerate(extraction.segments):
        media_key = None if seg.media is None else rt.blobs.put_bytes(seg.media, durable=False)
        rows.append(
            SegmentRow(
                id=f"{doc_id}-{ordinal:06d}",
                document_id=doc_id,
                ordinal=ordinal,
                modality=seg.modality.value,
                text=seg.text,
                locator=seg.locator.to_json(),
                media_key=media_key,
                media_type=seg.media_type if media_key else None,
            )
        )
    thumbnail = (
        rt.blobs.put_bytes(extraction.thumbnail, durable=False) if extraction.thumbnail else None
    )
    rt.blobs.sync()  # derived media reach the disk before the catalog points at them
    with rt.catalog.session() as session:
        documents.replace_segments(session, doc_id, rows)
        doc = session.get_one(DocumentRow, doc_id)
        doc.media_type = extraction.media_type
        doc.meta = {**doc.meta, **extraction.metadata}
        doc.thumbnail_key = thumbnail
        if not leases.advance(session, claim, NEXT_STAGE[Stage.EXTRACT]):
            raise LeaseLost(doc_id)


def _embed(rt: Runtime, claim: leases.Claim) -> None:
    with rt.catalog.session() as session:
        if not leases.advance(session, claim, NEXT_STAGE[Stage.EMBED]):
            raise LeaseLost(claim.document_id)


def _index(rt: Runtime, claim: leases.Claim) -> None:
    with rt.catalog.session() as session:
        doc = session.get_one(DocumentRow, claim.document_id)
        collection = session.get_one(CollectionRow, doc.collection_id).name
        rows = documents.document_segments(session, doc.id)
        terms = [
            TermDoc(r.id, doc.id, collection, r.modality, doc.media_type or "", r.text)
            for r in rows
            if r.modality == Modality.TEXT and r.text.strip()
        ]
    rt.bm25.delete_documents([claim.document_id])
    rt.bm25.add(terms)
    with rt.catalog.session() as session:
        doc = session.get_one(DocumentRow, claim.document_id)
        if not leases.complete(session, claim, doc.job_id):
            raise LeaseLost(claim.document_id)


STAGES = {Stage.EXTRACT: _extract, Stage.EMBED: _embed, Stage.INDEX: _index}
