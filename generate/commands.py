"""``mmrag ask``: run the ask use case on a local data dir, stream the answer, list sources."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mmrag.commandline import (
    ApiKey,
    Collections,
    DataDir,
    RemoteUrl,
    Verbose,
    console,
    exit_on_error,
    read_file,
)
from mmrag.links import segment_media_url

if TYPE_CHECKING:
    from generate.answer import Answer


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    collection: Collections = None,
    backend: Annotated[
        str | None, typer.Option(help="extractive, transformers or openai (default: setting).")
    ] = None,
    image: Annotated[Path | None, typer.Option(help="Picture that goes with the question.")] = None,
    k: Annotated[int | None, typer.Option("-k", help="Hits to answer from.")] = None,
    verbose: Verbose = False,
    data_dir: DataDir = None,
    url: RemoteUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Answer a question from the collections: stream the answer, then list its sources."""
    if url:
        from mmrag import remote

        raise typer.Exit(
            code=remote.ask(url, api_key, question, collection, backend, image, k, console)
        )
    from generate.answer import Answer
    from generate.backends.registry import BackendRegistry
    from generate.service import Answerer
    from retrieve.commands import open_local_search, print_degraded, quiet_space_logs
    from retrieve.request import SearchIn

    picture = read_file(image)
    quiet_space_logs()
    final: Answer | None = None
    # An error may cut the streamed answer short: its line starts on a line of its own.
    with open_local_search(data_dir) as local, exit_on_error(ValueError, lead="\n"):
        settings = local.settings
        answerer = Answerer(
            settings, local.catalog, local.blobs, local.retriever, BackendRegistry(settings)
        )
        names = local.collection_names(collection)
        request = SearchIn(collections=names, k=k or settings.answer_k)
        asking = answerer.ask(question, request, backend, picture)
        for item in asking.events:
            if isinstance(item, Answer):
                final = item
            else:  # plain write: "[1]" must not be read as console markup
                sys.stdout.write(item)
                sys.stdout.flush()
    assert final is not None
    _print_sources(final)
    print_degraded([*asking.degraded, *final.degraded], verbose=verbose)
    if final.abstained:
        raise typer.Exit(code=3)


def _print_sources(final: Answer) -> None:
    out = Console(soft_wrap=True)
    if final.abstained:
        out.print(f"(no answer) {final.reason}", markup=False)
    else:
        sys.stdout.write("\n")
    for n in final.dropped:
        out.print(f"removed citation [{n}]: no such source was given", markup=False)
    for u in final.unsupported:
        out.print(f"unsupported ({u.reason}): {u.sentence}", markup=False)
    cited = {c.n for c in final.citations}
    table = Table("n", "cited", "document", "where", "link")
    for s in final.sources:
        link = segment_media_url(s.segment) or ""
        cells = [f"[{s.n}]", "*" if s.n in cited else "", s.segment.document_id[:12], s.where]
        table.add_row(*(Text(cell) for cell in [*cells, link]))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``ask`` to the ``mmrag`` root."""
    app.command()(ask)
