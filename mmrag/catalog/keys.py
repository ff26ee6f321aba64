"""API keys: created once (the secret is shown once and stored only as its SHA-256),
listed, revoked; each grants roles on named collections or on all (``*``).

Key rows are never deleted, only revoked: that a data directory has ever had a key is what
turns authentication on for good (:func:`keys_required`), so revoking the last key locks
the service instead of opening it.

A key looks like ``mmrag_<id>_<secret>``: the id finds the row, the secret is compared with
``hmac.compare_digest`` against the stored hash. Secrets are 32 random bytes, so a plain
SHA-256 is enough (no password-stretching needed for high-entropy tokens).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mmrag.catalog.models import ApiKeyRow, utcnow
from mmrag.errors import BadInput, NotFound

ROLES = ("read", "write", "admin")  # each includes the ones before it
PREFIX = "mmrag"


@dataclass(frozen=True)
class Grant:
    role: str
    collections: tuple[str, ...]  # ("*",) for every collection

    def allows(self, role: str, collection: str | None) -> bool:
        if ROLES.index(self.role) < ROLES.index(role):
            return False
        return "*" in self.collections or (
            collection is not None and collection in self.collections
        )


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and name and what it may do."""

    key_id: str
    name: str
    grants: tuple[Grant, ...]

    def allows(self, role: str, collection: str | None = None) -> bool:
        """``collection=None`` asks for the role on every collection (admin-type actions)."""
        if collection is None:
            return any(g.allows(role, None) for g in self.grants)
        return any(g.allows(role, collection) for g in self.grants)

    def collections(self, role: str) -> set[str] | None:
        """Collections this key may use with ``role``; None means all of them."""
        names: set[str] = set()
        for grant in self.grants:
            if ROLES.index(grant.role) < ROLES.index(role):
                continue
            if "*" in grant.collections:
                return None
            names.update(grant.collections)
        return names


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    grants: list[dict[str, object]]
    created_at: datetime
    revoked_at: datetime | None


def parse_grants(role: str, collections: list[str]) -> list[dict[str, object]]:
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}", code="bad_role")
    return [{"role": role, "collections": collections or ["*"]}]


def create_key(session: Session, name: str, grants: list[dict[str, object]]) -> tuple[str, str]:
    """Store a new key; return ``(key id, the full key)``: the only time the key is seen."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKeyRow(id=key_id, name=name[:128], secret_sha256=_digest(secret), grants=grants))
    session.flush()
    return key_id, f"{PREFIX}_{key_id}_{secret}"


def authenticate(session: Session, key: str) -> Principal | None:
    """Return the caller for ``key``, or None when it is malformed, unknown or revoked."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not key_id or not secret or len(key) > 256:
        return None
    row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        return None
    grants = tuple(Grant(str(g["role"]), tuple(g["collections"])) for g in row.grants)
    return Principal(row.id, row.name, grants)


def any_active(session: Session) -> bool:
    """Return whether some key can still authenticate (one not revoked)."""
    found = session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.revoked_at.is_(None)).limit(1))
    return found is not None


def keys_required(session: Session) -> bool:
    """Return whether a key was ever created here (revoked ones count): then every keyed
    route needs a valid key, even when none is left to give one."""
    return session.scalar(select(ApiKeyRow.id).limit(1)) is not None


def list_keys(session: Session) -> list[KeyInfo]:
    rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at)).all()
    return [KeyInfo(r.id, r.name, r.grants, r.created_at, r.revoked_at) for r in rows]


def revoke(session: Session, key_id: str) -> None:
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id[:32]!r}", code="key_not_found")
    row.revoked_at = row.revoked_at or utcnow()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
