"""A real worker process on a real broker, and the API in-process talking to the same stores."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import settings_env

WorkerFactory = Callable[[], subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(settings: Settings) -> Iterator[WorkerFactory]:
    """Return a function that starts ``mmrag worker`` processes; all are stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mmrag", "worker", "--loglevel=WARNING"],
            env=settings_env(settings),
            start_new_session=True,  # its own process group, so a test can kill it whole
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def worker(start_worker: WorkerFactory) -> subprocess.Popen[bytes]:
    return start_worker()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def wait_job(client: TestClient, job_id: str, timeout: float = 90) -> dict[str, Any]:
    """Poll the job until it is done; fail the test with its last state on timeout."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] == "done":
            return body
        time.sleep(0.2)
    pytest.fail(f"job {job_id} not done after {timeout}s: {body}")


def upload(client: TestClient, collection: str, files: list[tuple[str, bytes]], **data: str) -> Any:
    return client.post(
        f"/v1/collections/{collection}/documents",
        files=[("files", (name, content)) for name, content in files],
        data=data,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess(subprocess.Popen[bytes]):
    """``mmrag serve`` in its own process group, its output in a file (a pipe that nobody
    reads fills up and blocks the server in a long test)."""

    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> str:
        """Ctrl-C it (the whole group is killed if it does not stop); return its output."""
        if self.poll() is None:
            self.send_signal(signal.SIGINT)
        try:
            self.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
        return self.output()

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.wait()


def start_serve(settings: Settings, timeout: float = 90) -> tuple[ServeProcess, str]:
    """Start ``mmrag serve`` (API + local worker) on a free port; return it and its base URL
    once /readyz counts a live worker. A serve that does not get there is killed."""
    port = free_port()
    log = settings.data_dir.parent / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = ServeProcess(
            [sys.executable, "-m", "mmrag", "serve", "--port", str(port)],
            env=settings_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a test can signal its group like a terminal would
        )
    proc.log = log
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/readyz").json()["checks"]["workers"]["live"] >= 1:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill_group()
            pytest.fail(f"serve did not start:\n{proc.output()[-3000:]}")
        time.sleep(0.3)
