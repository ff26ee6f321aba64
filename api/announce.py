"""Tell the user (and later CLI commands) that ``mmrag serve`` is up, once it answers.

While ``serve`` runs, a thread waits for its own /healthz, writes the data dir's server
marker (:mod:`mmrag.local_server`), waits until every space has loaded or failed (read
from the app's state), and prints one line each: the web UI's URL, the data dir, the
``mmrag`` command, and every space, on or off with its reason. The marker is removed
when ``serve`` stops.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from rich.console import Console

from api.routers.health import spaces_report
from mmrag.local_server import local_url, remove_marker, write_marker
from mmrag.settings import Settings

SETTLE_TIMEOUT_S = 180.0  # spaces still loading after this are printed as loading
POLL_S = 0.2


@contextmanager
def announced(
    app: FastAPI, settings: Settings, host: str, port: int, console: Console
) -> Iterator[None]:
    """Announce ``app``'s server once it answers, for the duration of the block."""
    url, stop = local_url(host, port), threading.Event()
    args = (app, settings, url, port, console, stop)
    thread = threading.Thread(target=_announce, args=args, name="announce", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        remove_marker(settings.data_dir)


def _announce(
    app: FastAPI, settings: Settings, url: str, port: int, console: Console, stop: threading.Event
) -> None:
    if not _wait(lambda: _answers(f"{url}/healthz"), stop, timeout=3600):
        return
    write_marker(settings.data_dir, url, port)
    spaces: dict[str, Any] = {}

    def settled() -> bool:  # read in-process: polling /readyz would fill the access log
        service = getattr(app.state, "service", None)  # set by the lifespan, before /healthz
        if service is None:
            return False
        spaces.update(spaces_report(service))
        return not any(s.get("state") in ("loading", "downloading") for s in spaces.values())

    _wait(settled, stop, timeout=SETTLE_TIMEOUT_S)
    if not stop.is_set():
        for line in banner(settings, url, spaces):
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(ready: Callable[[], bool], stop: threading.Event, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not stop.is_set() and time.monotonic() < deadline:
        if ready():
            return True
        stop.wait(POLL_S)
    return False


def banner(settings: Settings, url: str, spaces: dict[str, Any]) -> list[str]:
    """Return the lines printed once the server is up."""
    lines = [
        f"mmrag is up: web UI {url}/  (API docs {url}/docs)",
        f"data dir: {settings.data_dir.resolve()}",
        f"command: {mmrag_command()}",
    ]
    for name, space in spaces.items():
        lines.append(f"space {name}: {_space_line(space)}")
    return lines


def _space_line(space: dict[str, Any]) -> str:
    if space.get("up"):
        return f"on ({space.get('model')}, {space.get('device')})"
    state = space.get("state", "off")
    if state == "downloading":
        return f"downloading ({space.get('bytes', 0) // 2**20} MiB so far)"
    if state == "loading":
        return "still loading"
    return f"off: {space.get('reason')}"


def mmrag_command() -> str:
    """Return how to run ``mmrag`` from here: the virtualenv's script (relative when under
    the current folder) and how to put it on the PATH."""
    script = Path(sys.executable).parent / "mmrag"
    if not script.exists():
        return f"{sys.executable} -m mmrag"
    shown = os.path.relpath(script) if script.is_relative_to(Path.cwd()) else str(script)
    return f"{shown} (or `source {Path(shown).parent / 'activate'}`, then mmrag)"
