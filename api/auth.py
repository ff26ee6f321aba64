"""API keys on every route but the health probes: 401 without a valid key, 403 outside its
grants. Open (no keys asked) only while the catalog holds no active key; ``mmrag serve``
refuses to bind a non-loopback address in that state.

The "any key?" answer and authenticated keys are cached for a couple of seconds, so a
request costs a dictionary lookup, not a catalog query; a revoked key stops working within
that time in every API process.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import Depends, Request

from mmrag.catalog import keys
from mmrag.catalog.db import Catalog
from mmrag.catalog.keys import Principal
from mmrag.errors import Forbidden, Unauthorized

CACHE_SECONDS = 2.0


class KeyCheck:
    """Authenticates keys against the catalog, with a short cache."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._lock = threading.Lock()
        self._enabled: tuple[float, bool] = (0.0, False)
        self._known: dict[str, tuple[float, Principal | None]] = {}

    def enabled(self) -> bool:
        checked, value = self._enabled
        if time.monotonic() - checked < CACHE_SECONDS:
            return value
        with self.catalog.session() as session:
            value = keys.any_active(session)
        self._enabled = (time.monotonic(), value)
        return value

    def authenticate(self, key: str) -> Principal | None:
        now = time.monotonic()
        cached = self._known.get(key)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self.catalog.session() as session:
            principal = keys.authenticate(session, key)
        with self._lock:
            if len(self._known) > 10_000:  # bounded: garbage keys cannot grow it forever
                self._known.clear()
            self._known[key] = (now, principal)
        return principal


def caller(request: Request) -> Principal | None:
    """Return the calling key's principal; None when the service runs without keys."""
    check: KeyCheck = request.app.state.key_check
    if not check.enabled():
        return None
    key = _key_of(request)
    if not key:
        raise Unauthorized(
            "this service requires an API key: send 'Authorization: Bearer <key>'",
            code="missing_api_key",
        )
    principal = check.authenticate(key)
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked", code="invalid_api_key")
    return principal


CallerDep = Annotated[Principal | None, Depends(caller)]


def authorize(principal: Principal | None, role: str, collection: str | None = None) -> None:
    """Raise 403 unless ``principal`` holds ``role`` on ``collection`` (None: on all)."""
    if principal is None or principal.allows(role, collection):
        return
    target = f"collection {collection!r}" if collection else "all collections"
    raise Forbidden(f"API key {principal.name!r} has no {role} access to {target}")


def _key_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None
