"""``mmrag models list|fetch``: each space's weights, whether they are here, and fetching them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.filesize import decimal

from mmrag.commandline import DataDir, command_settings, console, fail
from mmrag.settings import Settings

if TYPE_CHECKING:
    from index.spaces.weights import ModelWeights

SPACES = ("text", "image", "audio")
PATH_SETTING = {space: f"MMRAG_{space.upper()}_MODEL_PATH" for space in SPACES}

models_app = typer.Typer(
    help="Embedding models: what is configured, present or missing; fetch missing ones.",
    no_args_is_help=True,
)


@models_app.command("list")
def models_list(data_dir: DataDir = None) -> None:
    """List each space's model: where it comes from, present or missing, where, and its size."""
    from index.spaces.weights import describe

    settings = command_settings(data_dir)
    for name in SPACES:
        weights = describe(settings, name)
        off = "" if name in settings.spaces else "  (space off: not in MMRAG_SPACES)"
        typer.echo(f"{name:<6} {_state(weights):<8} {weights.model} ({_origin(weights)}){off}")
        if weights.location is not None:
            where = "at" if weights.present else "would be stored in"
            size = f", {decimal(weights.size_bytes())}" if weights.present else ""
            typer.echo(f"{'':<15} {where} {weights.location}{size}")


def _state(weights: ModelWeights) -> str:
    if weights.origin == "random":
        return "random"
    return "present" if weights.present else "missing"


def _origin(weights: ModelWeights) -> str:
    return {
        "hub": f"hub: {weights.repo_id}",
        "package": "bundled package",
        "path": "local path",
        "random": "tiny random weights, tests only",
    }[weights.origin]


@models_app.command("fetch")
def models_fetch(
    space: Annotated[
        str | None, typer.Argument(help="text, image or audio (default: every enabled space).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Download the missing hub weights of one space (or every enabled one), with progress."""
    settings = command_settings(data_dir)
    if space is not None and space not in SPACES:
        fail("unknown_space", f"{space!r} is not a space; choose one of {', '.join(SPACES)}")
    for name in [space] if space else list(settings.spaces):
        _fetch_one(name, settings)


def _fetch_one(name: str, settings: Settings) -> None:
    from index.spaces.base import SpaceUnavailable
    from index.spaces.hub import downloads_refusal, first_line
    from index.spaces.weights import describe, fetch

    weights = describe(settings, name)
    if weights.present:
        console.print(f"{name}: {weights.model} is here ({weights.location or weights.origin})")
        return
    if weights.repo_id is None:
        fix = f"point {PATH_SETTING[name]} at the weights"
        fail("not_fetchable", f"{name}: {weights.model} cannot be downloaded: {fix}")
    refusal = downloads_refusal(settings)
    if refusal:
        fail("download_refused", f"{name}: cannot fetch {weights.model}: {refusal}")
    console.print(f"{name}: fetching {weights.repo_id} into {weights.location}")
    try:
        fetch(weights, settings)
    except SpaceUnavailable as exc:
        fail("download_refused", f"{name}: {exc.message}")
    except Exception as exc:  # the hub's HTTP errors, a full disk: one line, not a traceback
        fail("download_failed", f"{name}: {weights.repo_id}: {first_line(exc)}")
    console.print(f"{name}: {weights.model} fetched")


def register(app: typer.Typer) -> None:
    """Add ``models`` to the ``mmrag`` root."""
    app.add_typer(models_app, name="models")
