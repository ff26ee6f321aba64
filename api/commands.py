"""The API's commands: ``mmrag serve`` and ``mmrag keys``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mmrag import logs
from mmrag.commandline import (
    DataDir,
    command_settings,
    console,
    end_process,
    exit_on_error,
    local_worker,
    refuse_impossible_modes,
)
from mmrag.doorbell import Doorbell
from mmrag.settings import Settings


def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    worker: Annotated[bool, typer.Option(help="Also run one local worker.")] = True,
) -> None:
    """Run the REST API (and, by default, one local worker) until Ctrl-C."""
    from api.announce import announced
    from api.app import create_app
    from api.serving import run_server
    from mmrag.doorbell import open_doorbell

    settings = command_settings(data_dir)
    refuse_impossible_modes(settings)
    logs.configure(settings.log_format)
    refusal = _bind_refusal(settings, host)
    if refusal:
        console.print(f"[red]error[/red] {refusal}")
        raise typer.Exit(code=2)
    doorbell = open_doorbell(settings)
    resent = _finish_earlier_work(settings, doorbell)
    if resent:
        console.print(f"re-announced {resent} documents left unfinished by an earlier run")
    console.print(f"mmrag serving {settings.data_dir} on http://{host}:{port}")
    with local_worker(settings, enabled=worker) as child:
        app = create_app(settings, doorbell, local_worker=child, bounded_shutdown=True)
        # Once up: the server marker (CLI searches use this server) and what the user needs.
        with announced(app, settings, host, port, console):
            started = run_server(app, settings, host, port, child.begin_stop if child else _no_op)
    end_process(0 if started else 1)  # closed: skip the slow interpreter finalization


def _no_op() -> None:
    return None


def _bind_refusal(settings: Settings, host: str) -> str | None:
    from api.exposure import public_bind_refusal
    from mmrag.catalog.db import Catalog

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(settings.resolved_catalog_url)
    try:
        return public_bind_refusal(catalog, host)
    finally:
        catalog.dispose()


def _finish_earlier_work(settings: Settings, doorbell: Doorbell) -> int:
    """Announce what an earlier run left queued, finish interrupted deletions, remove its
    temp files; return how many documents were announced."""
    from index.indexes import open_indexes
    from index.removal import purge_deleted
    from mmrag.blobs import BlobStore
    from mmrag.catalog.db import Catalog
    from mmrag.intake import reannounce_at_start

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog, indexes = Catalog(settings.resolved_catalog_url), open_indexes(settings)
    blobs = BlobStore(settings.blob_dir)
    try:
        resent = reannounce_at_start(catalog, doorbell)
        purge_deleted(catalog, blobs, indexes)
        blobs.sweep_tmp(settings.tmp_blob_max_age_s)
        return resent
    finally:
        indexes.close()
        catalog.dispose()


keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


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

    catalog = Catalog(command_settings(data_dir).resolved_catalog_url)
    try:
        with exit_on_error(), catalog.session() as session:
            key_id, key = keys.create_key(session, name, keys.parse_grants(role, collection or []))
    finally:
        catalog.dispose()
    where = ", ".join(collection) if collection else "all collections"
    console.print(f"created key {key_id} ({name}): {role} on {where}")
    typer.echo(key)  # alone on stdout, for scripts


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List keys (id, name, grants, created, revoked); secrets are never shown."""
    from mmrag.catalog import keys
    from mmrag.catalog.db import Catalog

    catalog = Catalog(command_settings(data_dir).resolved_catalog_url)
    with catalog.session() as session:
        rows = keys.list_keys(session)
    catalog.dispose()
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

    catalog = Catalog(command_settings(data_dir).resolved_catalog_url)
    try:
        with exit_on_error(), catalog.session() as session:
            keys.revoke(session, key_id)
    finally:
        catalog.dispose()
    console.print(f"revoked key {key_id}")


def register(app: typer.Typer) -> None:
    """Add the API's commands to the ``mmrag`` root."""
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
