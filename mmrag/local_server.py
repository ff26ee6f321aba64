"""Where the running ``mmrag serve`` of a data dir answers: a marker file it keeps while up.

``serve`` writes ``DATA_DIR/serve.json`` (URL, port, pid) once its API answers and removes
it when it stops. One-shot commands (``search``, ``ask``) read it and send their query to
that server, whose models are loaded already, instead of loading every model themselves.
A marker left behind by a killed server is ignored: its pid is gone or nothing answers.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from mmrag.atomic_file import write_atomic

MARKER_NAME = "serve.json"
PING_TIMEOUT_S = 1.0  # a local server answers /healthz in milliseconds; a hung one is skipped


@dataclass(frozen=True)
class ServerMarker:
    """What a running ``serve`` says about itself."""

    url: str
    port: int
    pid: int


def local_url(host: str, port: int) -> str:
    """Return the URL a client on this machine uses for a server bound to ``host``."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def write_marker(data_dir: Path, url: str, port: int) -> None:
    """Record that this process serves ``data_dir`` at ``url``."""
    marker = ServerMarker(url=url, port=port, pid=os.getpid())
    write_atomic(data_dir / MARKER_NAME, json.dumps(asdict(marker)).encode())


def remove_marker(data_dir: Path) -> None:
    """Remove the marker if this process wrote it (a newer server's marker stays)."""
    marker = read_marker(data_dir)
    if marker is not None and marker.pid == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            (data_dir / MARKER_NAME).unlink()


def read_marker(data_dir: Path) -> ServerMarker | None:
    """Return the marker in ``data_dir``, or None when there is none or it is unreadable."""
    try:
        data = json.loads((data_dir / MARKER_NAME).read_text())
        return ServerMarker(url=str(data["url"]), port=int(data["port"]), pid=int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_server(data_dir: Path) -> str | None:
    """Return the URL of the server running on ``data_dir`` if one answers /healthz now."""
    marker = read_marker(data_dir)
    if marker is None or not _alive(marker.pid):
        return None
    try:
        answered = httpx.get(f"{marker.url}/healthz", timeout=PING_TIMEOUT_S)
    except httpx.HTTPError:
        return None
    return marker.url if answered.status_code == 200 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
