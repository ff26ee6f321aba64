"""The ``mmrag reindex`` command: options, a progress bar, and one line per index rebuilt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from mmrag.commandline import DataDir, command_settings, console, exit_on_error, fail

if TYPE_CHECKING:
    from workers import reindex as rebuilds
    from workers.runtime import Runtime


class _Bar:
    """One rich task per index being rebuilt."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: object = None

    def start(self, label: str, total: int) -> None:
        self.task = self.progress.add_task(label, total=total)

    def advance(self, done: int) -> None:
        self.progress.advance(self.task, done)  # type: ignore[arg-type]


def _check_collections(rt: Runtime, names: list[str]) -> None:
    """Raise NotFound (exit 2 naming it) for a collection the catalog does not hold."""
    from mmrag.catalog import collections

    with rt.catalog.session() as session:
        for name in names:
            collections.get_collection(session, name)


def reindex(
    collection: Annotated[
        list[str] | None,
        typer.Option("--collection", "-c", help="Collection to reindex (repeat; default all)."),
    ] = None,
    bm25: Annotated[bool, typer.Option("--bm25", help="Rebuild the BM25 index.")] = False,
    vectors: Annotated[
        list[str] | None,
        typer.Option("--vectors", help="Re-embed into this space (repeat; e.g. `text`)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Rebuild the BM25 index and/or a space's vectors from the catalog, while serving.

    With neither --bm25 nor --vectors, rebuilds BM25 and every configured space.
    """
    from workers.runtime import Runtime

    settings = command_settings(data_dir)
    spaces = list(vectors or ([] if bm25 else settings.spaces))
    unknown = [s for s in spaces if s not in settings.spaces]
    if unknown:
        fail(
            "unknown_space", f"{unknown[0]!r} is not in MMRAG_SPACES ({', '.join(settings.spaces)})"
        )
    rt = Runtime.open(settings)
    try:
        with exit_on_error():
            _check_collections(rt, collection or [])
            reports = _rebuild(rt, bm25 or not vectors, spaces, collection or None)
    finally:
        rt.close()
    for report in reports:
        for name, count in report.documents.items():
            console.print(f"reindexed {name}: {count} documents")
        for note in report.notes:
            console.print(note)


def _rebuild(
    rt: Runtime, bm25: bool, spaces: list[str], names: list[str] | None
) -> list[rebuilds.Report]:
    """Rebuild BM25 (if asked) then ``spaces``, under one progress display."""
    from workers import reindex as rebuilds

    columns = (TextColumn("{task.description:>6}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    reports = []
    with Progress(*columns, console=console) as progress:
        bar = _Bar(progress)
        if bm25:
            reports.append(rebuilds.reindex_bm25(rt, names, bar))
        if spaces:
            reports.append(rebuilds.reindex_vectors(rt, spaces, names, bar))
    return reports
