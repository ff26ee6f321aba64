"""``mmrag tune``: fit the fusion to a collection on inverse-cloze probes and store the winner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from mmrag.commandline import DataDir, command_settings, console, exit_on_error

if TYPE_CHECKING:
    from retrieve.tune import TuneReport

PHASES = {"bm25": "BM25 probes", "encode": "encoding passages", "fuse": "scoring candidates"}


def tune(
    collection: Annotated[str, typer.Option("--collection", "-c", help="Collection to tune.")],
    data_dir: DataDir = None,
) -> None:
    """Evaluate fusion methods, weights and rrf_k on the collection; store the best."""
    from index.indexes import open_indexes
    from mmrag.catalog.db import Catalog
    from retrieve.commands import quiet_space_logs
    from retrieve.tune_job import run_tune, start_tune

    settings = command_settings(data_dir)
    quiet_space_logs()
    catalog, indexes = Catalog(settings.resolved_catalog_url), open_indexes(settings)
    try:
        with exit_on_error(), _progress() as bar:
            start_tune(catalog, collection)
            tasks: dict[str, object] = {}

            def advance(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total)
                bar.update(tasks[phase], completed=done)  # type: ignore[arg-type]

            report = run_tune(
                catalog, lambda: indexes.spaces.get("text"), settings, collection, advance
            )
    finally:
        indexes.close()
        catalog.dispose()
    console.print(report_table(report))
    console.print(f"stored in {collection!r}: {report.winner.name}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), console=console
    )


def report_table(report: TuneReport) -> Table:
    """Return every candidate's recall@1/@10, nDCG@10 and margin over the best single channel."""
    table = Table(
        title=f"{report.queries} inverse-cloze queries over {report.passages} passages",
        box=box.SIMPLE_HEAD,
    )
    for name in ("candidate", "R@1", "R@10", "nDCG@10", "vs best single (R@1/R@10/nDCG)"):
        table.add_column(name, justify="left" if name == "candidate" else "right")
    for candidate, scores in report.rows:
        margin = report.margin(candidate)
        mark = (
            " *"
            if candidate == report.winner
            else (" (default)" if candidate == report.default else "")
        )
        table.add_row(
            candidate.name + mark,
            f"{scores.recall_at_1:.3f}",
            f"{scores.recall_at_10:.3f}",
            f"{scores.ndcg_at_10:.3f}",
            " / ".join(f"{margin[m]:+.3f}" for m in ("recall_at_1", "recall_at_10", "ndcg_at_10")),
        )
    return table


def register(app: typer.Typer) -> None:
    """Add ``tune`` to the ``mmrag`` root."""
    app.command()(tune)
