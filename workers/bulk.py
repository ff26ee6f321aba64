"""Bulk ingestion from local paths in this process: accept files, ring, follow the job."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mmrag.catalog import documents, heartbeats, jobs
from mmrag.catalog.db import Catalog
from mmrag.catalog.jobs import JobReport
from mmrag.intake import Intake, queue_paths
from mmrag.settings import Settings
from workers.doorbell import CeleryDoorbell
from workers.runtime import Runtime


def accept(rt: Runtime, stream: BinaryIO, **registration: Any) -> documents.Registration:
    """Accept one file into ``rt``'s stores (see :meth:`mmrag.intake.Intake.accept`)."""
    return Intake(rt.settings, rt.catalog, rt.blobs).accept(stream, **registration)


def enqueue_paths(
    settings: Settings, paths: Sequence[Path], collection: str
) -> tuple[str, int, list[tuple[Path, str]]]:
    """Register every file as a queued document of one new job and ring for each.

    Return (job id, number of files accepted, [(path, reason) for files not read]).
    """
    rt = Runtime.open(settings)
    doorbell = CeleryDoorbell(settings)
    try:
        queued = queue_paths(Intake(settings, rt.catalog, rt.blobs), doorbell, paths, collection)
    finally:
        doorbell.close()
        rt.close()
    return queued.job_id, queued.accepted, queued.unread


def live_workers(settings: Settings) -> int:
    """Return how many workers sent a heartbeat recently."""
    catalog = Catalog(settings.resolved_catalog_url)
    try:
        with catalog.session() as session:
            return heartbeats.live_workers(session, settings.sweep_interval_seconds)
    finally:
        catalog.dispose()


def follow_job(settings: Settings, job_id: str, console: Console, poll: float = 0.5) -> JobReport:
    """Show a progress bar until the job is done; return its final report."""
    catalog = Catalog(settings.resolved_catalog_url)
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
            with catalog.session() as session:
                report = jobs.job_report(session, job_id)
            finished = report.done + report.skipped + report.failed
            progress.update(bar, total=report.total, completed=finished, failed=report.failed)
            if report.status == "done":
                break
            time.sleep(poll)
    catalog.dispose()
    return report
