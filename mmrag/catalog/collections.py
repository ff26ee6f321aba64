"""Collections: named corpora."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mmrag.catalog.models import CollectionRow
from mmrag.errors import BadInput, Conflict, NotFound
from mmrag.metadata import validate_fields

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def validate_name(name: str) -> str:
    """Return ``name`` if it is a safe collection name, else raise BadInput."""
    if not _NAME.match(name):
        raise BadInput(
            f"invalid collection name {name[:80]!r}: use 1-64 letters, digits, '_' or '-', "
            "starting with a letter or digit",
            code="invalid_collection_name",
        )
    return name


def create_collection(
    session: Session, name: str, metadata_fields: Mapping[str, str] | None = None
) -> CollectionRow:
    """Create a collection; Conflict if the name is taken."""
    fields = validate_fields(metadata_fields or {})
    row = CollectionRow(name=validate_name(name), settings={"metadata_fields": fields})
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(f"collection {name!r} already exists", code="collection_exists") from None
    return row


def ensure_collection(session: Session, name: str) -> CollectionRow:
    """Return the collection, creating it if needed (CLI bulk ingestion)."""
    row = find_collection(session, validate_name(name))
    return row if row is not None else create_collection(session, name)


def find_collection(session: Session, name: str) -> CollectionRow | None:
    return session.scalar(select(CollectionRow).where(CollectionRow.name == name))


def get_collection(session: Session, name: str) -> CollectionRow:
    """Return the collection or raise NotFound."""
    row = find_collection(session, name)
    if row is None:
        raise NotFound(f"collection {name[:80]!r} does not exist", code="collection_not_found")
    return row


def metadata_fields(row: CollectionRow) -> dict[str, str]:
    """Return the collection's declared (filterable) metadata fields: name -> kind."""
    fields: dict[str, str] = dict(row.settings.get("metadata_fields", {}))
    return fields


def fusion_settings(row: CollectionRow) -> dict[str, Any] | None:
    """Return the fusion ``mmrag tune`` stored (method, weights, rrf_k, ...), or None."""
    fusion = row.settings.get("fusion")
    return dict(fusion) if isinstance(fusion, Mapping) else None


def store_settings(session: Session, name: str, key: str, value: object) -> None:
    """Set one key of a collection's settings (None removes it); NotFound if absent."""
    row = get_collection(session, name)
    updated = {k: v for k, v in row.settings.items() if k != key}
    if value is not None:
        updated[key] = value
    row.settings = updated  # a new dict: the JSON column is not mutation-tracked


def list_collections(session: Session) -> list[CollectionRow]:
    return list(session.scalars(select(CollectionRow).order_by(CollectionRow.name)))


def name_of(session: Session, collection_id: int) -> str:
    """Return the name of the collection with id ``collection_id``."""
    return session.get_one(CollectionRow, collection_id).name
