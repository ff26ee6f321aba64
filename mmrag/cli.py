"""The ``mmrag`` command: serve, worker, ingest, search.

Stage and entry-point packages are imported inside the commands, after ``--data-dir`` has
been applied to the settings, so every part of the process sees the same configuration.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mmrag import logs
from mmrag.domain import Hit
from mmrag.settings import Settings, get_settings

app = typer.Typer(
    help="mmrag: multimodal retrieval and RAG service.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True, soft_wrap=True)
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default: MMRAG_DATA_DIR).")
]


RemoteUrl = Annotated[
    str | None,
    typer.Option("--url", envvar="MMRAG_URL", help="A remote mmrag server instead of DATA_DIR."),
]
ApiKey = Annotated[
    str | None, typer.Option("--api-key", envvar="MMRAG_API_KEY", help="Key for --url.")
]


def _settings(data_dir: Path | None) -> Settings:
    if data_dir is not None:
        os.environ["MMRAG_DATA_DIR"] = str(data_dir.expanduser().resolve())
        get_settings.cache_clear()
    return get_settings()


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    worker: Annotated[bool, typer.Option(help="Also run one local worker.")] = True,
) -> None:
    """Run the REST API (and, by default, one local worker) until Ctrl-C."""
    import uvicorn

    from api.app import create_app
    from mmrag.catalog.keys import any_active
    from workers.app import create_app as create_celery
    from workers.app import send_stage
    from workers.maintenance import sweep
    from workers.runtime import Runtime

    settings = _settings(data_dir)
    logs.configure(settings.log_format)
    celery = create_celery(settings)
    rt = Runtime.open(settings)
    if not _is_loopback(host):
        with rt.catalog.session() as session:
            open_service = not any_active(session)
        if open_service:
            rt.close()
            console.print(
                f"[red]refusing to listen on {host}[/red]: no API keys exist, so anyone who "
                "can reach it could read and change everything. Create one first "
                "(`mmrag keys create admin --role admin`) or bind 127.0.0.1."
            )
            raise typer.Exit(code=2)
    resent = sweep(rt, lambda stage, doc: send_stage(celery, stage, doc))
    rt.close()
    if resent:
        console.print(f"re-announced {resent} documents left unfinished by an earlier run")
    console.print(f"mmrag serving {settings.data_dir} on http://{host}:{port}")
    with _local_worker(enabled=worker):
        uvicorn.run(
            create_app(settings, celery), host=host, port=port, log_level="info", log_config=None
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


@app.command("worker")
def worker_command(
    data_dir: DataDir = None,
    concurrency: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    queues: Annotated[str, typer.Option(help="Queues to consume.")] = "extract,embed,index",
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "INFO",
) -> None:
    """Run a Celery worker on the configured broker."""
    settings = _settings(data_dir)
    logs.configure(settings.log_format, loglevel.upper())
    if settings.worker_nice:  # searches on the same machine go first (bench/load.py)
        os.nice(settings.worker_nice)
    from workers.app import app as celery

    worker = celery.Worker(
        queues=queues.split(","),
        concurrency=concurrency or settings.worker_concurrency,
        loglevel=loglevel,
        hostname=f"mmrag-{os.getpid()}@%h",
        quiet=True,
    )
    worker.start()
    raise typer.Exit(code=worker.exitcode or 0)


@contextmanager
def _local_worker(*, enabled: bool) -> Iterator[None]:
    """Run ``mmrag worker`` as a child process for the duration of the block."""
    if not enabled:
        yield
        return
    child = subprocess.Popen(
        [sys.executable, "-m", "mmrag", "worker", "--loglevel=WARNING"], env=dict(os.environ)
    )
    try:
        yield
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Target collection.")],
    data_dir: DataDir = None,
    wait: Annotated[bool, typer.Option(help="Wait for the job and print a summary.")] = True,
    url: RemoteUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Queue files for ingestion and follow the job to the end."""
    from workers.bulk import enqueue_paths, follow_job, live_workers

    if url:
        from mmrag import remote

        raise typer.Exit(code=remote.ingest(url, api_key, paths, collection, wait, console))

    from mmrag.errors import MmragError

    settings = _settings(data_dir)
    try:
        job_id, accepted, skipped_paths = enqueue_paths(settings, paths, collection)
    except MmragError as exc:  # a bad collection name, a full disk: one line, not a traceback
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(code=2) from None
    for path, reason in skipped_paths:
        console.print(f"[yellow]not read[/yellow] {path}: {reason}")
    console.print(f"job {job_id}")
    if not wait:
        return
    need_worker = bool(accepted) and live_workers(settings) == 0
    if need_worker:
        console.print("no live worker found: starting a local one for this job")
    with _local_worker(enabled=need_worker):
        report = follow_job(settings, job_id, console)
    _print_summary(report)
    if report.failed or skipped_paths:
        raise typer.Exit(code=1)


def _print_summary(report: object) -> None:
    from dataclasses import asdict

    from mmrag.catalog.jobs import JobReport
    from mmrag.remote import print_summary

    assert isinstance(report, JobReport)
    print_summary([asdict(report)], console)


@app.command()
def search(
    text: Annotated[str | None, typer.Argument(help="Query text.")] = None,
    collection: Annotated[
        list[str] | None, typer.Option("--collection", "-c", help="Collections (default all).")
    ] = None,
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
    from api.schemas import QueryIn, SearchIn
    from api.search_request import build_query
    from mmrag.catalog.collections import list_collections, metadata_fields
    from mmrag.errors import MmragError
    from workers.runtime import Runtime

    rt = Runtime.open(_settings(data_dir))
    with rt.catalog.session() as session:
        rows = list_collections(session)
    names = collection or [c.name for c in rows]
    fields = {f: kind for c in rows if c.name in names for f, kind in metadata_fields(c).items()}
    try:
        body = SearchIn(collections=names, query=QueryIn(text=text), k=k, explain=explain)
        query = build_query(body, _read(image), _read(audio), rt.settings, fields)
        result = rt.retriever.search(query)
    except (MmragError, ValueError) as exc:
        code = getattr(exc, "code", "bad_input")
        console.print(f"[red]error[/red] {code}: {getattr(exc, 'message', exc)}")
        raise typer.Exit(code=2) from None
    for reason in result.degraded:
        console.print(f"[yellow]degraded[/yellow] {reason}")
    Console().print(_hits_table(result.hits, explain))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    collection: Annotated[
        list[str] | None, typer.Option("--collection", "-c", help="Collections (default all).")
    ] = None,
    backend: Annotated[
        str | None, typer.Option(help="extractive, transformers or openai (default: setting).")
    ] = None,
    image: Annotated[Path | None, typer.Option(help="Picture that goes with the question.")] = None,
    k: Annotated[int | None, typer.Option("-k", help="Hits to answer from.")] = None,
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
    from api.deps import segment_media_url
    from api.schemas import QueryIn, SearchIn
    from api.search_request import build_query
    from generate.answer import Answer, answer_stream, check_question
    from generate.backends.registry import BackendRegistry
    from generate.semantic import TextEncoder
    from mmrag.catalog.collections import list_collections, metadata_fields
    from mmrag.errors import MmragError
    from workers.runtime import Runtime

    rt = Runtime.open(_settings(data_dir))
    settings = rt.settings
    with rt.catalog.session() as session:
        rows = list_collections(session)
    names = collection or [c.name for c in rows]
    fields = {f: kind for c in rows if c.name in names for f, kind in metadata_fields(c).items()}
    picture = _read(image)
    final: Answer | None = None

    def load_media(key: str) -> bytes:
        with rt.blobs.open(key) as stream:
            return stream.read()

    try:
        text = check_question(question, settings)
        chosen = BackendRegistry(settings).get(backend)
        body = SearchIn(collections=names, query=QueryIn(text=text), k=k or settings.answer_k)
        result = rt.retriever.search(build_query(body, picture, None, settings, fields))
        for reason in result.degraded:
            console.print(f"[yellow]degraded[/yellow] {reason}")
        encoder = TextEncoder.from_spaces(rt.spaces)
        events = answer_stream(text, result.hits, chosen, settings, load_media, picture, encoder)
        for item in events:
            if isinstance(item, Answer):
                final = item
            else:  # plain write: "[1]" must not be read as console markup
                sys.stdout.write(item)
                sys.stdout.flush()
    except (MmragError, ValueError) as exc:
        code = getattr(exc, "code", "bad_input")
        console.print(f"\n[red]error[/red] {code}: {getattr(exc, 'message', exc)}")
        raise typer.Exit(code=2) from None
    assert final is not None
    out = Console(soft_wrap=True)
    for reason in final.degraded:
        out.print(f"degraded {reason}", markup=False)
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
    if final.abstained:
        raise typer.Exit(code=3)


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    if not path.is_file():
        console.print(f"[red]error[/red] no such file: {path}")
        raise typer.Exit(code=2)
    return path.read_bytes()


def _hits_table(hits: list[Hit], explain: bool) -> Table:
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


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="New (or empty) directory for the backup.")],
    data_dir: DataDir = None,
) -> None:
    """Back up an embedded data directory, consistently, while the service runs."""
    from mmrag import backup as backups
    from mmrag.errors import MmragError

    try:
        report = backups.backup(_settings(data_dir), dest)
    except MmragError as exc:
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(code=2) from None
    console.print(
        f"backed up {report.documents} documents, {report.segments} segments, "
        f"{report.blobs} blobs, {report.vector_records} vectors to {report.path}"
    )
    if report.unfinished:
        console.print(f"{report.unfinished} documents were mid-ingestion: restore re-queues them")
    if report.deleted_during_backup:
        deleted = report.deleted_during_backup
        console.print(f"{deleted} documents were deleted meanwhile: the backup has them deleted")


@app.command()
def restore(
    src: Annotated[Path, typer.Argument(help="A directory written by `mmrag backup`.")],
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option(help="Replace the catalog, blobs and indexes of a non-empty data dir.")
    ] = False,
) -> None:
    """Restore a backup into an empty data directory (stop the service first)."""
    from mmrag import backup as backups
    from mmrag.errors import MmragError

    settings = _settings(data_dir)
    try:
        report = backups.restore(settings, src, force=force)
    except MmragError as exc:
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(code=2) from None
    console.print(
        f"restored {report.documents} documents and {report.vector_records} vectors "
        f"(backup of {report.created_at}) into {settings.data_dir}; unfinished documents are "
        "re-queued at the next `mmrag serve` or `mmrag worker` start"
    )


keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
    role: Annotated[str, typer.Option(help="read, write (includes read) or admin (all).")] = "read",
    collection: Annotated[
        list[str] | None, typer.Option("--collection", "-c", help="Repeat; default: all.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print it (it is stored hashed and cannot be shown again)."""
    from mmrag.catalog import keys
    from mmrag.catalog.db import Catalog
    from mmrag.errors import MmragError

    settings = _settings(data_dir)
    catalog = Catalog(settings.resolved_catalog_url)
    try:
        with catalog.session() as session:
            key_id, key = keys.create_key(session, name, keys.parse_grants(role, collection or []))
    except MmragError as exc:
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(code=2) from None
    finally:
        catalog.engine.dispose()
    where = ", ".join(collection) if collection else "all collections"
    console.print(f"created key {key_id} ({name}): {role} on {where}")
    typer.echo(key)  # alone on stdout, for scripts


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List keys (id, name, grants, created, revoked); secrets are never shown."""
    from mmrag.catalog import keys
    from mmrag.catalog.db import Catalog

    catalog = Catalog(_settings(data_dir).resolved_catalog_url)
    with catalog.session() as session:
        rows = keys.list_keys(session)
    catalog.engine.dispose()
    table = Table("id", "name", "grants", "created", "revoked")
    for row in rows:
        grants = "; ".join(_grant_text(g) for g in row.grants)
        revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else ""
        created = row.created_at.isoformat(timespec="seconds")
        table.add_row(row.id, row.name, grants, created, revoked)
    console.print(table)


def _grant_text(grant: dict[str, object]) -> str:
    collections = grant.get("collections")
    names = ", ".join(str(c) for c in collections) if isinstance(collections, list) else ""
    return f"{grant.get('role')}: {names}"


@keys_app.command("revoke")
def keys_revoke(key_id: str, data_dir: DataDir = None) -> None:
    """Revoke a key: API processes refuse it within a few seconds."""
    from mmrag.catalog import keys
    from mmrag.catalog.db import Catalog
    from mmrag.errors import MmragError

    catalog = Catalog(_settings(data_dir).resolved_catalog_url)
    try:
        with catalog.session() as session:
            keys.revoke(session, key_id)
    except MmragError as exc:
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(code=2) from None
    finally:
        catalog.engine.dispose()
    console.print(f"revoked key {key_id}")
