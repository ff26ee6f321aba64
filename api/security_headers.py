"""Response headers that keep browsers from misusing what the API serves.

Every answer gets ``X-Content-Type-Options: nosniff`` (a declared type is never second-
guessed into HTML), ``X-Frame-Options: DENY`` and a Content-Security-Policy with
``frame-ancestors 'none'`` (no framing, so no clickjacking of the UI). The web UI's policy
allows its own scripts, styles and media only; API answers allow nothing and are
sandboxed. A route that sets its own policy (media) keeps it; the interactive docs, which
FastAPI builds from inline scripts, get only the framing rule.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UI_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
DOCS_POLICY = "frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")


def policy_for(path: str) -> str:
    """Return the Content-Security-Policy for a response to ``path``."""
    if path == "/" or path.startswith("/ui/"):
        return UI_POLICY
    if path.startswith(DOCS_PATHS):
        return DOCS_POLICY
    return API_POLICY


class SecurityHeaders:
    """Add the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = policy_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)
