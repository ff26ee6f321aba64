"""``mmrag search``: run the search use case on a local data dir and print a table of hits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

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
from mmrag.domain import Hit
from mmrag.result_view import HitRow, hits_table, print_degraded
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
    indexes.spaces.background_downloads = False  # this process ends before a download would
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
    """Search by text, image and/or sound and print a table of hits.

    With no --url, a server running on the data dir (``mmrag serve``) answers when there
    is one, with its models already loaded; else this process loads what the query needs.
    """
    from mmrag import remote

    picture, sound = read_file(image), read_file(audio)
    view = remote.View(explain=explain, full=full, verbose=verbose)
    server = url or running_server(data_dir)
    if server:
        code = remote.search(server, api_key, text, collection, image, audio, k, view, console,
                             optional=url is None)  # fmt: skip
        if code is not None:
            raise typer.Exit(code=code)
    from retrieve import service
    from retrieve.request import QueryIn, SearchIn

    quiet_space_logs()
    with open_local_search(data_dir) as local, exit_on_error(ValueError):
        names = local.collection_names(collection)
        request = SearchIn(collections=names, query=QueryIn(text=text), k=k, explain=explain)
        result = service.search(
            local.catalog, local.retriever, local.settings, request, picture, sound
        )
    Console().print(hits_table([hit_row(hit) for hit in result.hits], explain, full=full))
    print_degraded(result.degraded, console, verbose=verbose)


def running_server(data_dir: Path | None) -> str | None:
    """Return the URL of the ``mmrag serve`` running on the command's data dir, if one answers."""
    from mmrag.local_server import running_server as answering

    return answering(command_settings(data_dir).data_dir)


def quiet_space_logs() -> None:
    """Keep the spaces' load warnings off the terminal: the degraded lines carry them."""
    logging.getLogger("index.spaces").setLevel(logging.ERROR)


def hit_row(hit: Hit) -> HitRow:
    """Return what the hits table prints of ``hit``."""
    segment = hit.segment
    channels = {name: (rank, hit.channel_scores[name]) for name, rank in hit.channel_ranks.items()}
    return HitRow(
        hit.score, segment.modality.value, segment.document_id, segment.locator, segment.text,
        channels,
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``search`` to the ``mmrag`` root."""
    app.command()(search)
