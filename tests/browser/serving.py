"""The API served for a browser: uvicorn on a free loopback port, optionally with a worker."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import uvicorn

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import settings_env
from tests.e2e.conftest import free_port


@contextlib.contextmanager
def uvicorn_thread(settings: Settings) -> Iterator[str]:
    """Serve the app for ``settings`` on a free loopback port; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextlib.contextmanager
def served_with_worker(settings: Settings) -> Iterator[str]:
    """Serve the app as :func:`uvicorn_thread` does, with one real worker process."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "mmrag", "worker", "--loglevel=WARNING"],
        env=settings_env(settings),
        start_new_session=True,
    )
    try:
        with uvicorn_thread(settings) as url:
            yield url
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
