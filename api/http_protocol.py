"""How ``mmrag serve`` runs uvicorn so that slow clients cannot hold connections forever.

uvicorn closes a keep-alive connection that idles after a response, but not one that has
never sent a complete request head: a client that connects and sends nothing, or drips a
header byte every few seconds (slowloris), keeps its socket open for good, and enough of
them exhaust the process's file descriptors. :class:`HeadTimeoutProtocol` closes a
connection whose request head does not arrive within ``header_read_timeout_s`` of the
connection opening or of its last response. Bodies are timed in the app
(:mod:`api.limits`), so any server gets that part.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from mmrag.settings import Settings


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request head."""

    head_timeout: float = 10.0

    def __init__(self, config: Config, server_state: ServerState, **kwargs: Any) -> None:
        super().__init__(config, server_state, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:  # idle until the next head
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Return the keyword arguments ``uvicorn.run`` gets for the slow-client timeouts."""
    protocol = type(
        "ConfiguredHeadTimeoutProtocol",
        (HeadTimeoutProtocol,),
        {"head_timeout": settings.header_read_timeout_s},
    )
    return {"http": protocol, "timeout_keep_alive": settings.keep_alive_timeout_s}
