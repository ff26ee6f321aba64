"""Leases: how a worker claims a document for one pipeline stage.

The catalog is the truth and the broker only a doorbell. A task claims its document with one
atomic UPDATE (queued, or processing with an expired lease -> processing with this worker's
lease); a duplicate delivery finds nothing to claim. Every later transition is conditional on
still holding the lease, so a worker that lost its lease cannot count a document twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from mmrag.catalog.jobs import bump
from mmrag.catalog.models import DocumentRow, utcnow
from mmrag.domain import DocumentStatus, Stage


@dataclass(frozen=True)
class Claim:
    document_id: str
    stage: Stage
    owner: str
    attempts: int


def claim(session: Session, document_id: str, stage: Stage, owner: str, ttl: float) -> Claim | None:
    """Take the lease on ``document_id`` for ``stage``; None if someone else holds it."""
    now = utcnow()
    claimable = or_(
        DocumentRow.status == DocumentStatus.QUEUED,
        and_(DocumentRow.status == DocumentStatus.PROCESSING, DocumentRow.lease_expires_at < now),
    )
    result = session.execute(
        update(DocumentRow)
        .where(DocumentRow.id == document_id, DocumentRow.stage == stage, claimable)
        .values(
            status=DocumentStatus.PROCESSING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=ttl),
            attempts=DocumentRow.attempts + 1,
            updated_at=now,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    attempts = session.scalar(select(DocumentRow.attempts).where(DocumentRow.id == document_id))
    return Claim(document_id, stage, owner, attempts or 1)


def _held(claim: Claim) -> ColumnElement[bool]:
    return and_(
        DocumentRow.id == claim.document_id,
        DocumentRow.status == DocumentStatus.PROCESSING,
        DocumentRow.stage == claim.stage,
        DocumentRow.lease_owner == claim.owner,
    )


def renew(session: Session, claim: Claim, ttl: float) -> bool:
    """Extend the lease; False if it was lost (expired and taken by another worker)."""
    now = utcnow()
    result = session.execute(
        update(DocumentRow)
        .where(_held(claim))
        .values(lease_expires_at=now + timedelta(seconds=ttl), updated_at=now)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def advance(session: Session, claim: Claim, next_stage: Stage) -> bool:
    """Hand the document to ``next_stage`` (queued, lease released, attempts reset)."""
    now = utcnow()
    result = session.execute(
        update(DocumentRow)
        .where(_held(claim))
        .values(
            stage=next_stage,
            status=DocumentStatus.QUEUED,
            lease_owner=None,
            lease_expires_at=None,
            attempts=0,
            enqueued_at=now,
            updated_at=now,
        )
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def complete(session: Session, claim: Claim, job_id: str | None) -> bool:
    """Mark the document indexed and count it done in its job, once."""
    ok = _finish(session, claim, status=DocumentStatus.INDEXED, error_code=None, error=None)
    if ok:
        bump(session, job_id, done=1)
    return ok


def fail(
    session: Session,
    claim: Claim,
    job_id: str | None,
    code: str,
    reason: str,
    media_type: str | None = None,
) -> bool:
    """Mark the document failed with ``reason`` and count it failed in its job, once.

    ``media_type``, when given, records what the content was sniffed as (extraction failed
    before storing it), so reports count the file under its kind.
    """
    ok = _finish(
        session, claim, status=DocumentStatus.FAILED, error_code=code, error=reason,
        **({"media_type": media_type} if media_type else {}),
    )  # fmt: skip
    if ok:
        bump(session, job_id, failed=1)
    return ok


def release(session: Session, claim: Claim) -> bool:
    """Give the lease back so a retry (or the sweeper) can claim the document again."""
    now = utcnow()
    result = session.execute(
        update(DocumentRow)
        .where(_held(claim))
        .values(
            status=DocumentStatus.QUEUED,
            lease_owner=None,
            lease_expires_at=None,
            enqueued_at=now,
            updated_at=now,
        )
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _finish(
    session: Session,
    claim: Claim,
    *,
    status: DocumentStatus,
    error_code: str | None,
    error: str | None,
    **columns: object,
) -> bool:
    result = session.execute(
        update(DocumentRow)
        .where(_held(claim))
        .values(
            status=status,
            error_code=error_code,
            error=error,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=utcnow(),
            **columns,
        )
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Stray:
    document_id: str
    stage: Stage


def strays(session: Session, *, requeue_after: float, limit: int = 500) -> list[Stray]:
    """Find documents whose lease expired or that sat queued too long; stamp them re-enqueued.

    The caller sends one task per returned document. Stamping ``enqueued_at`` first keeps
    concurrent sweepers from flooding the broker with the same documents.
    """
    now = utcnow()
    stale = now - timedelta(seconds=requeue_after)
    rows = session.execute(
        select(DocumentRow.id, DocumentRow.stage)
        .where(
            or_(
                and_(DocumentRow.status == DocumentStatus.QUEUED, DocumentRow.enqueued_at < stale),
                and_(
                    DocumentRow.status == DocumentStatus.PROCESSING,
                    DocumentRow.lease_expires_at < now,
                    DocumentRow.enqueued_at < _recent(now),
                ),
            )
        )
        .limit(limit)
    ).all()
    ids = [r.id for r in rows]
    if ids:
        session.execute(update(DocumentRow).where(DocumentRow.id.in_(ids)).values(enqueued_at=now))
    return [Stray(r.id, Stage(r.stage)) for r in rows]


def _recent(now: datetime) -> datetime:
    # An expired lease is re-announced at most every 10 s, whatever the sweep interval.
    return now - timedelta(seconds=10)
