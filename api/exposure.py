"""Who may reach a service that asks for no key: this machine only.

A data directory where no API key was ever created runs open, which is safe only while
nobody else can connect. ``mmrag serve`` refuses to bind another address in that state
(:func:`public_bind_refusal`), and the app itself refuses clients from other machines
(:func:`refuse_remote_client`), so a server started another way (``uvicorn --factory
--host 0.0.0.0``) cannot skip the rule.
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from mmrag.catalog import keys
from mmrag.catalog.db import Catalog
from mmrag.errors import Forbidden


def is_loopback(host: str) -> bool:
    """Return whether ``host`` names this machine's loopback interface."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name: it may resolve to anything
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # "::ffff:127.0.0.1" from a dual-stack socket
    return address.is_loopback


def public_bind_refusal(catalog: Catalog, host: str) -> str | None:
    """Return why the service must not listen on ``host``, or None when it may."""
    if is_loopback(host):
        return None
    with catalog.session() as session:
        if keys.any_active(session):
            return None
        revoked = keys.keys_required(session)
    state = "every API key is revoked" if revoked else "no API keys exist"
    return (
        f"refusing to listen on {host}: {state}, so the service could only be reached open "
        "or not at all. Create one first (`mmrag keys create admin --role admin`) "
        "or bind 127.0.0.1."
    )


def refuse_remote_client(request: Request) -> None:
    """Raise 403 ``keyless_remote_client`` unless the keyless service's client is local."""
    peer = request.client.host if request.client else ""
    try:
        ipaddress.ip_address(peer)
    except ValueError:
        return  # no IP address (a Unix socket, an in-process client): this machine
    if not is_loopback(peer):
        raise Forbidden(
            f"this service has no API keys, so it only answers clients on its own machine "
            f"(not {peer}); create one with `mmrag keys create NAME --role admin`",
            code="keyless_remote_client",
        )
