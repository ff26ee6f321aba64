"""The workers' commands: ``mmrag worker`` and ``mmrag ingest``."""

from __future__ import annotations

import os
import signal
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from mmrag import logs
from mmrag.commandline import (
    ApiKey,
    DataDir,
    RemoteUrl,
    command_settings,
    console,
    end_process,
    exit_on_error,
    local_worker,
    refuse_impossible_modes,
)
from mmrag.parent_death import exit_with_parent


def worker(
    data_dir: DataDir = None,
    concurrency: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    queues: Annotated[str, typer.Option(help="Queues to consume.")] = "extract,embed,index",
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "INFO",
    parent_pid: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run a Celery worker on the configured broker."""
    if parent_pid is not None:  # a local worker: it ends with the serve/ingest that started it
        exit_with_parent(parent_pid, signal.SIGTERM)
    settings = command_settings(data_dir)
    if concurrency:  # the processes' share of the cores follows it (workers/runtime.py)
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    refuse_impossible_modes(settings)
    logs.configure(settings.log_format, loglevel.upper())
    if settings.worker_nice:  # searches on the same machine go first (bench/load.py)
        os.nice(settings.worker_nice)
    from workers.app import create_app

    celery_worker = create_app(settings).Worker(
        queues=queues.split(","),
        concurrency=settings.worker_concurrency,
        loglevel=loglevel,
        hostname=f"mmrag-{os.getpid()}@%h",
        quiet=True,
    )
    celery_worker.start()
    end_process(celery_worker.exitcode or 0)  # stopped: skip the slow interpreter finalization


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Target collection.")],
    data_dir: DataDir = None,
    wait: Annotated[bool, typer.Option(help="Wait for the job and print a summary.")] = True,
    url: RemoteUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Queue files for ingestion and follow the job to the end."""
    from mmrag import remote

    if url:
        raise typer.Exit(code=remote.ingest(url, api_key, paths, collection, wait, console))
    from workers.bulk import enqueue_paths, follow_job, live_workers

    settings = command_settings(data_dir)
    refuse_impossible_modes(settings)  # no worker could process the job
    with exit_on_error():
        job_id, accepted, skipped_paths = enqueue_paths(settings, paths, collection)
    for path, reason in skipped_paths:
        console.print(f"[yellow]not read[/yellow] {path}: {reason}")
    console.print(f"job {job_id}")
    if not wait:
        return
    need_worker = bool(accepted) and live_workers(settings) == 0
    if need_worker:
        console.print("no live worker found: starting a local one for this job")
    with local_worker(settings, enabled=need_worker):
        report = follow_job(settings, job_id, console)
    remote.print_summary([asdict(report)], console)
    if report.failed or skipped_paths:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add the workers' commands to the ``mmrag`` root."""
    from workers.reindex_command import reindex

    app.command("worker")(worker)
    app.command()(ingest)
    app.command()(reindex)
