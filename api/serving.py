"""How ``mmrag serve`` runs uvicorn: slow-client timeouts, and a shutdown within the grace.

On SIGTERM or Ctrl-C the local worker is asked to stop at once, while uvicorn drains its
connections (at most ``shutdown_grace_s``), so the two waits overlap instead of adding up.
uvicorn re-raises a captured SIGTERM after its shutdown, which would kill this process before
it stops its worker; the handler it restores here only starts that stop.
"""

from __future__ import annotations

import math
import signal
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from api.http_protocol import uvicorn_options
from mmrag.settings import Settings


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``on_exit`` as soon as a shutdown signal arrives."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.on_exit()
        super().handle_exit(sig, frame)


def run_server(
    app: FastAPI, settings: Settings, host: str, port: int, on_exit: Callable[[], None]
) -> bool:
    """Serve ``app`` until SIGTERM or Ctrl-C; return False if the server could not start."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=None,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        **uvicorn_options(settings),  # slow clients time out
    )
    server = _Server(config, on_exit)
    previous = signal.signal(signal.SIGTERM, lambda _sig, _frame: on_exit())
    try:
        server.run()
    except KeyboardInterrupt:  # the Ctrl-C that uvicorn re-raises once it has stopped
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return server.started
