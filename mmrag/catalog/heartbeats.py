"""Worker heartbeats: which worker processes are alive, as the catalog sees them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mmrag.catalog.models import WorkerRow, utcnow


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
