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

from index.spaces.base import SpaceUnavailable
from ingest.base import ExtractOptions
from ingest.extract import extract_file
from ingest.failure import name_the_upload, sniffed_type
from mmrag.catalog import documents, leases
from mmrag.catalog.models import DocumentRow, SegmentRow
from mmrag.domain import Stage
from mmrag.errors import BadInput, InsufficientStorage, TransientError
from workers.embedding import embed_segments
from workers.reindex_source import load
from workers.runtime import Runtime

log = logging.getLogger(__name__)

NEXT_STAGE = {Stage.EXTRACT: Stage.EMBED, Stage.EMBED: Stage.INDEX}


def next_stage(rt: Runtime, stage: Stage) -> Stage | None:
    """Return the stage after ``stage``; with no space configured, extraction skips embed."""
    if stage == Stage.EXTRACT and not rt.settings.spaces:
        return Stage.INDEX
    return NEXT_STAGE.get(stage)


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
    try:  # fail while the headroom still lets us record it
        rt.blobs.ensure_room(rt.settings.min_free_bytes)
    except InsufficientStorage as exc:
        _fail(rt, claim, exc.code, exc.message)
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
    except InsufficientStorage:  # the stores translate their engines' ENOSPC into this
        return _disk_full(rt, claim)
    except TransientError as exc:  # a store briefly unreachable or locked
        return _retry_or_fail(rt, claim, exc, max_attempts)
    except OSError as exc:  # timeouts and refused connections are OSErrors too
        if exc.errno == errno.ENOSPC:
            return _disk_full(rt, claim)
        return _retry_or_fail(rt, claim, exc, max_attempts)
    except Exception as exc:  # a bug or a library choking on hostile input: fail, don't loop
        log.exception("stage %s failed for %s", stage, document_id)
        _fail(rt, claim, "processing_failed", f"{stage.value} failed: {type(exc).__name__}: {exc}")
        return Outcome()
    log.info("%s done for document %s", stage.value, document_id)
    return Outcome(next_stage=next_stage(rt, stage))


def _disk_full(rt: Runtime, claim: leases.Claim) -> Outcome:
    """Fail the document for a full disk (ENOSPC met after the headroom check)."""
    error = InsufficientStorage(
        f"no space left on the data volume: {rt.blobs.free_bytes() // 1024**2} MiB free; "
        f"raise MMRAG_MIN_FREE_BYTES (now {rt.settings.min_free_bytes}), free space and upload "
        "the file again"
    )
    _fail(rt, claim, error.code, error.message)
    return Outcome()


def _retry_or_fail(rt: Runtime, claim: leases.Claim, exc: Exception, max_attempts: int) -> Outcome:
    reason = exc.message if isinstance(exc, TransientError) else f"{type(exc).__name__}: {exc}"
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
        if doc is None:
            leases.fail(session, claim, None, code, reason)
            return
        blob = rt.blobs.path(doc.sha256)
        reason = name_the_upload(reason, blob, doc.filename)
        media_type = None if doc.media_type else sniffed_type(blob)
        leases.fail(session, claim, doc.job_id, code, reason, media_type=media_type)


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
            except TransientError:
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
        if not leases.advance(session, claim, next_stage(rt, Stage.EXTRACT) or Stage.INDEX):
            raise LeaseLost(doc_id)


def _embed(rt: Runtime, claim: leases.Claim) -> None:
    loaded = load(rt.catalog, claim.document_id)
    rt.vectors.delete_documents([claim.document_id])
    skipped: dict[str, str] = {}
    options = ExtractOptions.from_settings(rt.settings)
    for name in rt.settings.spaces:
        try:
            space = rt.spaces.get(name)
        except SpaceUnavailable as exc:  # reported in /readyz and search responses
            skipped[name] = exc.message
            continue
        rt.vectors.ensure_space(name, space.dim)
        for records in embed_segments(
            name, space, loaded.segments, loaded.payloads,
            batch_size=rt.settings.embed_batch_size, media_path=rt.blobs.path, options=options,
            source=rt.blobs.path(loaded.blob_key),
        ):  # fmt: skip
            rt.vectors.upsert(name, records)
    with rt.catalog.session() as session:
        doc = session.get_one(DocumentRow, claim.document_id)
        doc.meta = {**doc.meta, "spaces_skipped": skipped} if skipped else doc.meta
        if not leases.advance(session, claim, Stage.INDEX):
            raise LeaseLost(claim.document_id)


def _index(rt: Runtime, claim: leases.Claim) -> None:
    loaded = load(rt.catalog, claim.document_id)
    rt.bm25.delete_documents([claim.document_id])
    rt.bm25.add(loaded.term_docs())
    with rt.catalog.session() as session:
        if not leases.complete(session, claim, loaded.job_id):
            raise LeaseLost(claim.document_id)


STAGES = {Stage.EXTRACT: _extract, Stage.EMBED: _embed, Stage.INDEX: _index}
