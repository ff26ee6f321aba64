"""Bulk ingestion from local paths: register files as one job, announce them, follow it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from mmrag.catalog import collections, documents, jobs
from mmrag.catalog.jobs import JobReport
from mmrag.catalog.models import WorkerRow, utcnow
from mmrag.domain import Stage
from mmrag.errors import MmragError
from mmrag.settings import Settings
from workers.app import create_app, send_stage
from workers.runtime import Runtime


def accept(
    rt: Runtime,
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
    rt.blobs.ensure_room(rt.settings.min_free_bytes)
    key, size = rt.blobs.put_stream(stream, rt.settings.max_upload_bytes)
    with rt.catalog.session() as session:
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


def enqueue_paths(
    settings: Settings, paths: Sequence[Path], collection: str
) -> tuple[str, int, list[tuple[Path, str]]]:
    """Register every file as a queued document of one new job.

    Return (job id, number of files accepted, [(path, reason) for files not read]).
    """
    rt = Runtime.open(settings)
    celery = create_app(settings)
    unread: list[tuple[Path, str]] = []
    with rt.catalog.session() as session:
        target = collections.ensure_collection(session, collection)
        job = jobs.create_job(session, target.id)
        job_id = job.id
    accepted = 0
    for item in walk(paths):
        if isinstance(item, tuple):
            unread.append(item)
            continue
        try:
            with item.open("rb") as stream:
                reg = accept(
                    rt,
                    stream,
                    collection_id=target.id,
                    job_id=job_id,
                    filename=item.name,
                    source_uri=str(item.resolve()),
                )
        except (OSError, MmragError) as exc:
            unread.append((item, str(exc)))
            continue
        accepted += 1
        if reg.created:  # announce as we go, so workers start before the walk ends
            send_stage(celery, Stage.EXTRACT, reg.document.id)
    rt.close()
    return job_id, accepted, unread


def live_workers(settings: Settings) -> int:
    """Return how many workers sent a heartbeat recently."""
    rt = Runtime.open(settings)
    since = utcnow() - timedelta(seconds=3 * settings.sweep_interval_seconds + 5)
    with rt.catalog.session() as session:
        count = session.scalar(
            select(func.count()).select_from(WorkerRow).where(WorkerRow.last_seen > since)
        )
    rt.close()
    return count or 0


def follow_job(settings: Settings, job_id: str, console: Console, poll: float = 0.5) -> JobReport:
    """Show a progress bar until the job is done; return its final report."""
    rt = Runtime.open(settings)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("ingesting", total=None, failed=0)
        while True:
            with rt.catalog.session() as session:
                report = jobs.job_report(session, job_id)
            finished = report.done + report.skipped + report.failed
            progress.update(bar, total=report.total, completed=finished, failed=report.failed)
            if report.status == "done":
                break
            time.sleep(poll)
    rt.close()
    return report
