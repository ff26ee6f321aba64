"""What every ``mmrag`` command shares: options, settings from flags, one way to fail.

The packages that own commands (api: serve, keys; workers: worker, ingest; retrieve: search;
generate: ask; index: backup, restore) build them from these parts; ``mmrag.cli`` is the
root that registers them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from mmrag.errors import MmragError
from mmrag.settings import Settings, load_settings

if TYPE_CHECKING:
    from mmrag.supervisor import LocalWorker

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
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print degraded channels' whole reasons.")
]
Collections = Annotated[
    list[str] | None, typer.Option("--collection", "-c", help="Collections (default all).")
]


def command_settings(data_dir: Path | None) -> Settings:
    """Return the settings a command runs with: the environment, ``--data-dir`` on top.

    A setting that does not validate (an unknown space name, say) ends the command with
    one line naming the ``MMRAG_`` variable, before anything is opened or written.
    """
    try:  # read afresh: a command runs once per process, and tests invoke several in one
        return load_settings(data_dir)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        where = ".".join(str(part) for part in first["loc"])
        fail("bad_setting", f"MMRAG_{name.upper()} ({where}): {first['msg']}")


def refuse_impossible_modes(settings: Settings) -> None:
    """Exit 2 with one line per reason when the service cannot run on ``settings``.

    Called before a service command writes anything to the data directory.
    """
    from mmrag.deployment import impossible_modes

    reasons = impossible_modes(settings)
    for reason in reasons:
        console.print(f"[red]refusing to start[/red]: {reason}", highlight=False)
    if reasons:
        raise typer.Exit(code=2)


def fail(code: str, message: str, *, lead: str = "", exit_code: int = 2) -> NoReturn:
    """Print ``error CODE: MESSAGE`` as one line (after ``lead``) and exit."""
    console.print(f"{lead}[red]error[/red] {code}: {message}")
    raise typer.Exit(code=exit_code)


@contextmanager
def exit_on_error(*also: type[Exception], lead: str = "") -> Iterator[None]:
    """Turn a domain error (and the ``also`` kinds, as bad input) into one line and exit 2."""
    try:
        yield
    except MmragError as exc:  # a bad name, a full disk, a refused request: not a traceback
        fail(exc.code, exc.message, lead=lead)
    except also as exc:
        fail("bad_input", str(exc), lead=lead)


def end_process(code: int) -> NoReturn:
    """End a service command that closed everything, without finalizing the interpreter.

    Finalizing can outlast the shutdown grace (garbage-collecting loaded models took 7 s on
    a busy machine), and model libraries abort it while a model is still loading (a hub
    download retrying for minutes, which ``serve`` stops waiting for after the grace).
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def read_file(path: Path | None) -> bytes | None:
    """Return the bytes of a query file given on the command line (None when not given)."""
    if path is None:
        return None
    if not path.is_file():
        console.print(f"[red]error[/red] no such file: {path}")
        raise typer.Exit(code=2)
    return path.read_bytes()


@contextmanager
def local_worker(settings: Settings, *, enabled: bool) -> Iterator[LocalWorker | None]:
    """Run a supervised ``mmrag worker`` on ``settings``' data dir during the block."""
    if not enabled:
        yield None
        return
    from mmrag.supervisor import LocalWorker

    child = LocalWorker(settings)
    child.start()
    try:
        yield child
    finally:
        child.stop()
