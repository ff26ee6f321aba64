"""The server marker: written by a running ``serve``, trusted only while that server answers."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmrag.local_server import (
    MARKER_NAME,
    local_url,
    read_marker,
    remove_marker,
    running_server,
    write_marker,
)


@pytest.fixture
def healthz_server() -> Iterator[str]:
    """A loopback server answering 200 to /healthz and 404 to anything else."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_marker_of_a_server_that_answers_gives_its_url(
    tmp_path: Path, healthz_server: str
) -> None:
    write_marker(tmp_path, healthz_server, 1234)
    marker = read_marker(tmp_path)
    assert marker is not None and (marker.url, marker.pid) == (healthz_server, os.getpid())
    assert running_server(tmp_path) == healthz_server


def test_no_marker_a_closed_port_or_a_dead_pid_means_no_server(
    tmp_path: Path, healthz_server: str
) -> None:
    assert running_server(tmp_path) is None
    write_marker(tmp_path, f"http://127.0.0.1:{closed_port()}", 1)
    assert running_server(tmp_path) is None  # a killed server's port: nothing answers
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    marker = {"url": healthz_server, "port": 1, "pid": int(dead.stdout)}
    (tmp_path / MARKER_NAME).write_text(json.dumps(marker))
    assert running_server(tmp_path) is None  # something else took the port; its pid is gone
    (tmp_path / MARKER_NAME).write_text("{not json")
    assert running_server(tmp_path) is None


def test_remove_leaves_another_servers_marker(tmp_path: Path) -> None:
    newer = {"url": "http://127.0.0.1:9", "port": 9, "pid": os.getpid() + 1}
    (tmp_path / MARKER_NAME).write_text(json.dumps(newer))
    remove_marker(tmp_path)
    assert (tmp_path / MARKER_NAME).exists()
    write_marker(tmp_path, "http://127.0.0.1:9", 9)
    remove_marker(tmp_path)
    assert not (tmp_path / MARKER_NAME).exists()


def test_local_url_reaches_wildcard_binds_through_loopback() -> None:
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert local_url("::", 8000) == "http://[::1]:8000"
    assert local_url("127.0.0.1", 81) == "http://127.0.0.1:81"
