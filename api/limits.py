"""ASGI middleware that refuses request bodies over the size limit before reading them, and
bodies that stall: a client that stops sending for ``read_timeout`` seconds mid-body gets
408 ``body_timeout`` and its connection closed, instead of holding a worker thread and an
open upload forever (uvicorn itself times out only idle keep-alive connections)."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


class BodySizeLimit:
    """413 when Content-Length exceeds ``max_bytes``; cut streamed bodies at the limit; 408
    when the body pauses longer than ``read_timeout`` seconds."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _reject(send, self.max_bytes)
            return
        seen = 0
        started = body_done = False
        failure: type[Exception] | None = None

        async def limited_receive() -> Message:
            nonlocal seen, body_done, failure
            if body_done:  # later receives wait for a disconnect (streamed answers): no limit
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                failure = BodyTimeout
                raise BodyTimeout from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if seen > self.max_bytes:
                    failure = BodyTooLarge
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if failure:  # a body parser turned our exception into its own error: answer ours
                if not started and message["type"] == "http.response.start":
                    started = True
                    await self._refuse(send, failure)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except (BodyTooLarge, BodyTimeout) as exc:
            if not started:
                await self._refuse(send, type(exc))

    async def _refuse(self, send: Send, failure: type[Exception]) -> None:
        if failure is BodyTimeout:
            message = (
                f"the request body stalled for more than {self.read_timeout:g} s "
                "(setting MMRAG_BODY_READ_TIMEOUT_S)"
            )
            await _answer(send, 408, "body_timeout", message)
        else:
            await _reject(send, self.max_bytes)


async def _reject(send: Send, max_bytes: int) -> None:
    message = (
        f"request body is larger than the limit of {max_bytes} bytes "
        "(setting MMRAG_MAX_UPLOAD_BYTES)"
    )
    await _answer(send, 413, "payload_too_large", message)


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
