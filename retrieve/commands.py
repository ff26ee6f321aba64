"""``mmrag search``: run the search use case on a local data dir and print a table of hits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from mmrag.commandline import (
    ApiKey,
    Collections,
    DataDir,
    RemoteUrl,
    command_settings,
    console,
    exit_on_error,
    read_file,
)
from mmrag.domain import Hit
from mmrag.settings import Settings

if TYPE_CHECKING:  # the stores import when a command runs, not when the CLI starts
    from mmrag.blobs import BlobStore
    from mmrag.catalog.db import Catalog
    from retrieve.search import Retriever


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
    try:
        blobs = BlobStore(settings.blob_dir)
        yield LocalSearch(settings, catalog, blobs, Retriever(catalog, indexes))
    finally:
        indexes.close()
        catalog.dispose()


def search(
    text: Annotated[str | None, typer.Argument(help="Query text.")] = None,
    collection: Collections = None,
    image: Annotated[Path | None, typer.Option(help="Image file to search with.")] = None,
    audio: Annotated[Path | None, typer.Option(help="Sound file to search with.")] = None,
    k: Annotated[int, typer.Option("-k", help="Number of hits.")] = 10,
    explain: Annotated[bool, typer.Option(help="Show each hit's rank in every channel.")] = False,
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
    with open_local_search(data_dir) as local, exit_on_error(ValueError):
        names = local.collection_names(collection)
        request = SearchIn(collections=names, query=QueryIn(text=text), k=k, explain=explain)
        result = service.search(
            local.catalog, local.retriever, local.settings, request, picture, sound
        )
    for reason in result.degraded:
        console.print(f"[yellow]degraded[/yellow] {reason}")
    Console().print(hits_table(result.hits, explain))


def hits_table(hits: list[Hit], explain: bool) -> Table:
    """Return the hits as a table: rank, score, modality, document, where, text (and ranks)."""
    table = Table("#", "score", "modality", "document", "where", "text")
    if explain:
        table.add_column("channels (rank/score)")
    for rank, hit in enumerate(hits, start=1):
        locator = hit.segment.locator.to_json()
        where = ", ".join(f"{key}={value}" for key, value in locator.items() if key != "bbox")
        row = [
            str(rank),
            f"{hit.score:.4f}",
            hit.segment.modality.value,
            hit.segment.document_id[:12],
            where,
            " ".join(hit.segment.text.split())[:100],
        ]
        if explain:
            row.append(
                " ".join(
                    f"{name}:{r}/{hit.channel_scores[name]:.3f}"
                    for name, r in hit.channel_ranks.items()
                )
            )
        table.add_row(*row)
    return table


def register(app: typer.Typer) -> None:
    """Add ``search`` to the ``mmrag`` root."""
    app.command()(search)
