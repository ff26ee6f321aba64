"""``mmrag ask``: run the ask use case on a local data dir, stream the answer, list sources."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
from mmrag.result_view import SourceRow, print_answer_end, print_degraded

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
    """Answer a question from the collections: stream the answer, then list its sources.

    With no --url, a server running on the data dir answers when there is one.
    """
    from mmrag import remote
    from retrieve.commands import running_server

    picture = read_file(image)
    server = url or running_server(data_dir)
    if server:
        view = remote.View(verbose=verbose)
        code = remote.ask(server, api_key, question, collection, backend, image, k, view,
                          console, optional=url is None)  # fmt: skip
        if code is not None:
            raise typer.Exit(code=code)
    from generate.answer import Answer
    from generate.backends.registry import BackendRegistry
    from generate.service import Answerer
    from retrieve.commands import open_local_search, quiet_space_logs
    from retrieve.request import SearchIn

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
    _print_answer_end(final)
    print_degraded([*asking.degraded, *final.degraded], console, verbose=verbose)
    if final.abstained:
        raise typer.Exit(code=3)


def _print_answer_end(final: Answer) -> None:
    cited = {c.n for c in final.citations}
    sources = [
        SourceRow(s.n, s.n in cited, s.segment.document_id, s.where,
                  segment_media_url(s.segment) or "")
        for s in final.sources
    ]  # fmt: skip
    unsupported = [(u.reason, u.sentence) for u in final.unsupported]
    print_answer_end(
        sources, abstained=final.abstained, reason=final.reason, dropped=final.dropped,
        unsupported=unsupported,
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``ask`` to the ``mmrag`` root."""
    app.command()(ask)
