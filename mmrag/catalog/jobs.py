"""Jobs: counts of a unit of bulk work, kept in the catalog so they survive restarts."""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.orm import Session

from mmrag.catalog.models import CollectionRow, DocumentRow, JobRow, JobWaitRow, utcnow
from mmrag.domain import DocumentStatus, media_kind
from mmrag.errors import BadInput, NotFound

_UNFINISHED = (DocumentStatus.QUEUED, DocumentStatus.PROCESSING)


@dataclass(frozen=True)
class JobError:
    document_id: str
    filename: str
    reason: str


@dataclass(frozen=True)
class JobCounts:
    id: str
    status: str
    total: int
    done: int
    skipped: int
    failed: int


@dataclass(frozen=True)
class JobReport(JobCounts):
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
    return JobReport(
        id=job.id,
        status=job_status(session, job),
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


def job_status(session: Session, job: JobRow) -> str:
    """Return queued, running or done: done once every file is counted and no duplicate it
    skipped is still being processed by another job."""
    finished = job.done + job.skipped + job.failed
    if finished >= job.total:
        return "running" if _waits_for_duplicates(session, job.id) else "done"
    if finished or _any_processing(session, job.id):
        return "running"
    return "queued"


def wait_for_duplicate(session: Session, job_id: str | None, document: DocumentRow) -> None:
    """Make ``job_id``, which skipped ``document`` as a duplicate, wait until it is finished."""
    unfinished = document.status in (DocumentStatus.QUEUED, DocumentStatus.PROCESSING)
    if job_id is None or document.job_id == job_id or not unfinished:
        return
    if session.get(JobWaitRow, (job_id, document.id)) is None:
        session.add(JobWaitRow(job_id=job_id, document_id=document.id))


def _waits_for_duplicates(session: Session, job_id: str) -> bool:
    return _exists(
        session,
        select(JobWaitRow.document_id)
        .join(DocumentRow, DocumentRow.id == JobWaitRow.document_id)
        .where(JobWaitRow.job_id == job_id, DocumentRow.status.in_(_UNFINISHED)),
    )


def _any_processing(session: Session, job_id: str) -> bool:
    return _exists(
        session,
        select(DocumentRow.id).where(
            DocumentRow.job_id == job_id, DocumentRow.status == DocumentStatus.PROCESSING
        ),
    )


def _exists(session: Session, query: Select[Any]) -> bool:
    return session.scalar(query.limit(1)) is not None


@dataclass(frozen=True)
class JobSummary(JobCounts):
    created_at: datetime
    updated_at: datetime


def list_jobs(
    session: Session, collection_id: int, *, before: str | None = None, limit: int = 50
) -> list[JobSummary]:
    """Return up to ``limit`` of the collection's jobs, newest first, older than job ``before``.

    An upload whose answer never reached its client (the connection or the server died)
    still has its job here.
    """
    query = select(JobRow).where(JobRow.collection_id == collection_id)
    if before:
        cursor = session.get(JobRow, before)
        if cursor is None or cursor.collection_id != collection_id:
            raise BadInput(f"unknown cursor {before[:64]!r}", code="bad_cursor")
        query = query.where(
            or_(
                JobRow.created_at < cursor.created_at,
                and_(JobRow.created_at == cursor.created_at, JobRow.id < cursor.id),
            )
        )
    rows = session.scalars(query.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit))
    return [_summary(session, job) for job in rows]


def _summary(session: Session, job: JobRow) -> JobSummary:
    status = job_status(session, job)
    return JobSummary(
        job.id, status, job.total, job.done, job.skipped, job.failed, job.created_at,
        job.updated_at,
    )  # fmt: skip


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
