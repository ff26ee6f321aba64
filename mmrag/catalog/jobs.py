"""Jobs: counts of a unit of bulk work, kept in the catalog so they survive restarts."""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mmrag.catalog.models import CollectionRow, DocumentRow, JobRow, utcnow
from mmrag.domain import DocumentStatus, media_kind
from mmrag.errors import NotFound


@dataclass(frozen=True)
class JobError:
    document_id: str
    filename: str
    reason: str


@dataclass(frozen=True)
class JobReport:
    id: str
    status: str
    total: int
    done: int
    skipped: int
    failed: int
    errors: list[JobError]
    media_types: dict[str, int]
    kinds: dict[str, dict[str, int]]  # pdf/text/image/audio/video/other -> indexed, failed


def create_job(session: Session, collection_id: int) -> JobRow:
    job = JobRow(id=uuid.uuid4().hex, collection_id=collection_id)
    session.add(job)
    session.flush()
    return job


def bump(session: Session, job_id: str | None, **deltas: int) -> None:
    """Atomically add ``deltas`` (total/done/skipped/failed) to a job's counts."""
    if job_id is None:
        return
    values = {name: getattr(JobRow, name) + n for name, n in deltas.items()}
    session.execute(update(JobRow).where(JobRow.id == job_id).values(updated_at=utcnow(), **values))


def job_report(session: Session, job_id: str) -> JobReport:
    """Return the job's counts, status and per-file errors; NotFound if unknown."""
    job = session.get(JobRow, job_id)
    if job is None:
        raise NotFound(f"job {job_id[:64]!r} does not exist", code="job_not_found")
    failed_rows = session.execute(
        select(DocumentRow.id, DocumentRow.filename, DocumentRow.error, DocumentRow.media_type)
        .where(DocumentRow.job_id == job_id, DocumentRow.status == DocumentStatus.FAILED)
        .order_by(DocumentRow.created_at)
    ).all()
    types = session.execute(
        select(DocumentRow.media_type).where(
            DocumentRow.job_id == job_id, DocumentRow.status == DocumentStatus.INDEXED
        )
    ).scalars()
    media_types: dict[str, int] = {}
    kinds: dict[str, dict[str, int]] = {}
    for media_type in types:
        media_types[media_type or "unknown"] = media_types.get(media_type or "unknown", 0) + 1
        _count(kinds, media_kind(media_type), "indexed")
    for row in failed_rows:  # sniffing failed (an empty file): the name's extension says
        guessed = row.media_type or mimetypes.guess_type(row.filename)[0]
        _count(kinds, media_kind(guessed), "failed")
    finished = job.done + job.skipped + job.failed
    status = "done" if finished >= job.total else ("running" if finished else "queued")
    if status == "queued" and _any_processing(session, job_id):
        status = "running"
    return JobReport(
        id=job.id,
        status=status,
        total=job.total,
        done=job.done,
        skipped=job.skipped,
        failed=job.failed,
        errors=[JobError(r.id, r.filename, r.error or "unknown error") for r in failed_rows],
        media_types=media_types,
        kinds=kinds,
    )


def _count(kinds: dict[str, dict[str, int]], kind: str, outcome: str) -> None:
    counts = kinds.setdefault(kind, {"indexed": 0, "failed": 0})
    counts[outcome] += 1


def _any_processing(session: Session, job_id: str) -> bool:
    return (
        session.scalar(
            select(DocumentRow.id)
            .where(DocumentRow.job_id == job_id, DocumentRow.status == DocumentStatus.PROCESSING)
            .limit(1)
        )
        is not None
    )


def job_collection(session: Session, job_id: str) -> str:
    """Return the name of the job's collection; NotFound if the job is unknown."""
    name = session.scalar(
        select(CollectionRow.name)
        .join(JobRow, JobRow.collection_id == CollectionRow.id)
        .where(JobRow.id == job_id)
    )
    if name is None:
        raise NotFound(f"job {job_id[:64]!r} does not exist", code="job_not_found")
    return name
