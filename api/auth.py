"""API keys on every route but the health probes: 401 without a valid key, 403 outside its
grants. Open (no keys asked) only on a data directory where no key was ever created, and
then only to clients on this machine (``api.exposure``). Once a key has existed, revoking
every key locks the service: nobody gets in until a new key is created.

The key travels as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. An
``Authorization`` header of another scheme (a proxy's Basic credentials) is not ours and is
ignored; a Bearer key and an ``X-API-Key`` that differ are refused (401
``conflicting_api_keys``) rather than one silently winning.

The "keys required?" answer and authenticated keys are cached for a couple of seconds, so a
request costs a dictionary lookup, not a catalog query; a revoked key stops working within
that time in every API process.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import Depends, Request

from api.exposure import refuse_remote_client
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
        self._mode: tuple[float, bool, bool] = (0.0, False, False)
        self._known: dict[str, tuple[float, Principal | None]] = {}

    def required(self) -> bool:
        """Return whether a key was ever created here, so every keyed route needs one."""
        return self._current_mode()[0]

    def any_active(self) -> bool:
        """Return whether some key is not revoked."""
        return self._current_mode()[1]

    def _current_mode(self) -> tuple[bool, bool]:
        checked, required, active = self._mode
        if time.monotonic() - checked < CACHE_SECONDS:
            return required, active
        with self.catalog.session() as session:
            required, active = keys.keys_required(session), keys.any_active(session)
        self._mode = (time.monotonic(), required, active)
        return required, active

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
    if not check.required():
        refuse_remote_client(request)
        return None
    key = _key_of(request)
    if not key:
        hint = "" if check.any_active() else " (every key is revoked: `mmrag keys create`)"
        raise Unauthorized(
            f"this service requires an API key: send 'Authorization: Bearer <key>'{hint}",
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
    """Return the key sent in either header (see the module docstring for the rule)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    bearer = value.strip() if scheme.lower() == "bearer" else ""
    header = request.headers.get("x-api-key", "").strip()
    if bearer and header and bearer != header:
        raise Unauthorized(
            "'Authorization: Bearer' and 'X-API-Key' carry different keys: send one",
            code="conflicting_api_keys",
        )
    return bearer or header or None
