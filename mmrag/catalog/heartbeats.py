"""Worker heartbeats: which worker processes are alive, as the catalog sees them."""

from __future__ import annotations

import socket
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mmrag.catalog.models import DocumentRow, WorkerRow, utcnow
from mmrag.domain import DocumentStatus


def owner_id(pid: int) -> str:
    """Return the heartbeat name of worker process ``pid`` on this host."""
    return f"{socket.gethostname()}:{pid}"


def beat(session: Session, owner: str) -> None:
    """Record that worker ``owner`` is alive now."""
    row = session.get(WorkerRow, owner)
    if row is None:
        session.add(WorkerRow(id=owner, last_seen=utcnow()))
    else:
        row.last_seen = utcnow()


def withdraw(session: Session, owner: str) -> None:
    """Forget worker ``owner``: it stopped and no longer counts as live."""
    session.execute(delete(WorkerRow).where(WorkerRow.id == owner))


def live_workers(session: Session, sweep_interval_seconds: float) -> int:
    """Return how many workers beat within three sweep intervals (plus slack)."""
    since = utcnow() - timedelta(seconds=3 * sweep_interval_seconds + 5)
    count = session.scalar(
        select(func.count()).select_from(WorkerRow).where(WorkerRow.last_seen > since)
    )
    return count or 0


def waiting_documents(session: Session) -> int:
    """Return how many documents wait for a worker (queued, or processing under a lease)."""
    count = session.scalar(
        select(func.count())
        .select_from(DocumentRow)
        .where(DocumentRow.status.in_([DocumentStatus.QUEUED, DocumentStatus.PROCESSING]))
    )
    return count or 0
