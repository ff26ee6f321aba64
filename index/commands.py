"""The index's commands: ``mmrag backup`` and ``mmrag restore`` of an embedded data dir."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmrag.commandline import DataDir, command_settings, console, exit_on_error


def backup(
    dest: Annotated[Path, typer.Argument(help="New (or empty) directory for the backup.")],
    data_dir: DataDir = None,
) -> None:
    """Back up an embedded data directory, consistently, while the service runs."""
    from index import backup as backups

    with exit_on_error():
        report = backups.backup(command_settings(data_dir), dest)
    console.print(
        f"backed up {report.documents} documents, {report.segments} segments, "
        f"{report.blobs} blobs, {report.vector_records} vectors to {report.path}"
    )
    if report.unfinished:
        console.print(f"{report.unfinished} documents were mid-ingestion: restore re-queues them")
    if report.deleted_during_backup:
        deleted = report.deleted_during_backup
        console.print(f"{deleted} documents were deleted meanwhile: the backup has them deleted")


def restore(
    src: Annotated[Path, typer.Argument(help="A directory written by `mmrag backup`.")],
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option(help="Replace the catalog, blobs and indexes of a non-empty data dir.")
    ] = False,
) -> None:
    """Restore a backup into an empty data directory (stop the service first)."""
    from index import backup as backups

    settings = command_settings(data_dir)
    with exit_on_error():
        report = backups.restore(settings, src, force=force)
    console.print(
        f"restored {report.documents} documents and {report.vector_records} vectors "
        f"(backup of {report.created_at}) into {settings.data_dir}; unfinished documents are "
        "re-queued at the next `mmrag serve` or `mmrag worker` start"
    )


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the ``mmrag`` root."""
    app.command()(backup)
    app.command()(restore)
