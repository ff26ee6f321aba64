"""Slow clients cannot hold ``mmrag serve`` forever: a request head that does not arrive
(nothing sent, or a slowloris drip) closes the connection, a body that stalls gets 408
``body_timeout`` and a closed connection, and an idle keep-alive connection is closed."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings, settings_env
from tests.e2e.conftest import free_port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    """``mmrag serve --no-worker`` with one-second timeouts; yield its port."""
    settings = make_settings(
        tmp_path / "data",
        spaces=[],  # no models to load: start and stop quickly
        header_read_timeout_s=1,
        body_read_timeout_s=1,
        keep_alive_timeout_s=1,
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmrag", "serve", "--port", str(port), "--no-worker"],
        env=settings_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz").raise_for_status()
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(timeout=90)


def read_all(conn: socket.socket) -> bytes:
    """Read until the server closes the connection (the socket timeout fails the test)."""
    received = b""
    while chunk := conn.recv(65536):
        received += chunk
    return received


def test_a_stalled_body_gets_408_and_the_connection_closed(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=30) as conn:
        conn.sendall(
            b"POST /v1/collections HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":'
        )  # ... and nothing more
        answer = read_all(conn)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"body_timeout"' in answer
    assert httpx.get(f"http://127.0.0.1:{served}/v1/collections").json() == []


def test_an_idle_keep_alive_connection_is_closed(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=30) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = read_all(conn)  # the answer, then the server's close once idle
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"status":"ok"}')


def test_a_request_head_that_never_completes_closes_the_connection(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=30) as silent:
        assert read_all(silent) == b""  # connected, sent nothing: closed, not held
    with socket.create_connection(("127.0.0.1", served), timeout=30) as drip:
        drip.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert read_all(drip) == b""
    with socket.create_connection(("127.0.0.1", served), timeout=30) as reused:
        reused.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /heal")
        answer = read_all(reused)  # the first answer, then closed: the second head stalled
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"HTTP/1.1") == 1
