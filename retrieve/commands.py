"""``mmrag search``: run the search use case on a local data dir and print a table of hits."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from mmrag.commandline import (
    ApiKey,
    Collections,
    DataDir,
    RemoteUrl,
    Verbose,
    command_settings,
    console,
    exit_on_error,
    read_file,
)
from mmrag.domain import Hit, Locator
from mmrag.settings import Settings

if TYPE_CHECKING:  # the stores import when a command runs, not when the CLI starts
    from mmrag.blobs import BlobStore
    from mmrag.catalog.db import Catalog
    from retrieve.search import Retriever

WHERE_WIDTH = 18  # "page=12 t=1.5-3s" fits; a long section name is cut


@dataclass(frozen=True)
class LocalSearch:
    """A catalog, blob store and retriever opened on a local data dir for one command."""

    settings: Settings
    catalog: Catalog
    blobs: BlobStore
    retriever: Retriever

    def collection_names(self, wanted: list[str] | None) -> list[str]:
        """Return ``wanted``, or every collection when none was named."""
        if wanted:
            return wanted
        from mmrag.catalog.collections import list_collections

        with self.catalog.session() as session:
            return [c.name for c in list_collections(session)]


@contextmanager
def open_local_search(data_dir: Path | None) -> Iterator[LocalSearch]:
    """Open the stores of a local data dir for one search or question; close them after."""
    from index.indexes import open_indexes
    from mmrag.blobs import BlobStore
    from mmrag.catalog.db import Catalog
    from retrieve.search import Retriever

    settings = command_settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog, indexes = Catalog(settings.resolved_catalog_url), open_indexes(settings)
    retriever = Retriever.from_settings(catalog, indexes, settings, load_empty_spaces=False)
    try:
        blobs = BlobStore(settings.blob_dir)
        yield LocalSearch(settings, catalog, blobs, retriever)
    finally:
        retriever.close()
        indexes.close()
        catalog.dispose()


def search(
    text: Annotated[str | None, typer.Argument(help="Query text.")] = None,
    collection: Collections = None,
    image: Annotated[Path | None, typer.Option(help="Image file to search with.")] = None,
    audio: Annotated[Path | None, typer.Option(help="Sound file to search with.")] = None,
    k: Annotated[int, typer.Option("-k", help="Number of hits.")] = 10,
    explain: Annotated[bool, typer.Option(help="Show each hit's rank in every channel.")] = False,
    full: Annotated[bool, typer.Option(help="Show each hit's whole text (wrapped).")] = False,
    verbose: Verbose = False,
    data_dir: DataDir = None,
    url: RemoteUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Search by text, image and/or sound and print a table of hits."""
    if url:
        from mmrag import remote

        raise typer.Exit(
            code=remote.search(url, api_key, text, collection, image, audio, k, explain, console)
        )
    from retrieve import service
    from retrieve.request import QueryIn, SearchIn

    picture, sound = read_file(image), read_file(audio)
    quiet_space_logs()
    with open_local_search(data_dir) as local, exit_on_error(ValueError):
        names = local.collection_names(collection)
        request = SearchIn(collections=names, query=QueryIn(text=text), k=k, explain=explain)
        result = service.search(
            local.catalog, local.retriever, local.settings, request, picture, sound
        )
    Console().print(hits_table(result.hits, explain, full=full))
    print_degraded(result.degraded, verbose=verbose)


def quiet_space_logs() -> None:
    """Keep the spaces' load warnings off the terminal: the degraded lines carry them."""
    logging.getLogger("index.spaces").setLevel(logging.ERROR)


def print_degraded(reasons: Sequence[str], *, verbose: bool) -> None:
    """Print each degraded channel once, dim, after the results: one line unless ``verbose``."""
    for reason in dict.fromkeys(reasons):  # the same reason twice (search + answer) once
        line = Text(f"degraded {reason}", style="dim")
        if verbose:
            console.print(line)
        else:
            console.print(line, no_wrap=True, overflow="ellipsis", soft_wrap=False)
    if reasons and not verbose:
        console.print(Text("(--verbose for the whole reason)", style="dim"))


def hits_table(hits: list[Hit], explain: bool, *, full: bool = False) -> Table:
    """Return the hits as a table: rank, score, modality, document, where, text.

    Every column but the text keeps to one line; the text takes the rest of the width,
    cut with an ellipsis (``full``: wrapped whole), so a hit is one row at 80 columns.
    ``explain`` adds, under each text, the hit's rank and score in every channel.
    """
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("#", "score", "modality", "document"):
        table.add_column(name, no_wrap=True)
    table.add_column("where", no_wrap=True, max_width=WHERE_WIDTH, overflow="ellipsis")
    # Wrapable, so the table narrows it first; each cell's Text then keeps it to one line.
    table.add_column("text (channel:rank/score)" if explain else "text", min_width=16)
    for rank, hit in enumerate(hits, start=1):
        segment = hit.segment
        cells = [str(rank), f"{hit.score:.4f}", segment.modality.value, segment.document_id[:12]]
        text = Text(" ".join(segment.text.split()), no_wrap=not full)
        text.overflow = "fold" if full else "ellipsis"
        body: RenderableType = Group(text, _channels(hit)) if explain else text
        table.add_row(*(Text(cell) for cell in cells), describe_where(segment.locator), body)
    return table


def _channels(hit: Hit) -> Text:
    ranks = (f"{name}:{r}/{hit.channel_scores[name]:.3f}" for name, r in hit.channel_ranks.items())
    return Text(" ".join(ranks), style="dim", overflow="fold")


def describe_where(locator: Locator) -> str:
    """Return a short "where": page, time range, section; character offsets as a last resort."""
    parts = []
    if locator.page is not None:
        parts.append(f"page={locator.page}")
    if locator.start_s is not None:
        end = locator.end_s if locator.end_s is not None else locator.start_s
        parts.append(f"t={locator.start_s:g}-{end:g}s")
    if locator.section:
        parts.append(locator.section)
    if not parts and locator.char_start is not None:
        parts.append(f"chars {locator.char_start}-{locator.char_end}")
    return " ".join(parts)


def register(app: typer.Typer) -> None:
    """Add ``search`` to the ``mmrag`` root."""
    app.command()(search)
