"""Refuse state-changing requests that another site's page made the browser send.

A page on any other origin can make a browser POST a multipart form to this service
without a CORS preflight (``fetch(url, {mode: "no-cors", method: "POST", body: form})``);
it cannot read the answer, but the upload happens. Browsers say where such a request comes
from (``Sec-Fetch-Site``; ``Origin`` on older ones), so a POST, PUT, PATCH or DELETE marked
as coming from another origin is refused with 403 ``cross_site_request`` before its body is
read, unless it carries an API key: a page on another origin cannot attach one without a
preflight this API never grants, and the key itself is then checked as usual. Clients that
are not browsers send neither header and are not affected.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# "same-site" is refused too: another port on the same host is the same site.
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def from_another_origin(headers: Headers) -> bool:
    """Return whether the browser marked this request as sent by another origin's page."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in OWN_FETCH_SITES
    origin = headers.get("origin")
    if origin is None:
        return False
    # The scheme is left out: a TLS-terminating proxy speaks plain HTTP to the API.
    return origin == "null" or urlsplit(origin).netloc != headers.get("host", "")


def carries_key(headers: Headers) -> bool:
    return "x-api-key" in headers or headers.get("authorization", "").lower().startswith("bearer ")


class CrossSiteGuard:
    """403 ``cross_site_request`` for keyless state changes sent from another origin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            if from_another_origin(headers) and not carries_key(headers):
                await _refuse(send, headers.get("origin") or "another site")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, origin: str) -> None:
    message = (
        f"refused a state-changing request sent by a page on {origin[:100]}: this service "
        "only accepts those from its own pages or with an API key"
    )
    body = json.dumps({"error": {"code": "cross_site_request", "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
