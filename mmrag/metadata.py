"""Declared metadata fields: their kinds, and coercion of user values for indexing/filters.

A collection declares which user-metadata fields are filterable (``metadata_fields``:
name -> kind). Only declared fields are indexed beside segments (as Qdrant payload
indexes need), so a filter on an undeclared field is refused instead of silently matching
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mmrag.errors import BadInput

KINDS = ("keyword", "integer", "float", "bool", "datetime")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

Scalar = str | int | float | bool


def validate_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """Return ``fields`` if every name is an identifier and every kind is known."""
    for name, kind in fields.items():
        if not _FIELD.match(name):
            raise BadInput(f"invalid metadata field name {name[:64]!r}", code="invalid_field")
        if kind not in KINDS:
            raise BadInput(
                f"metadata field {name!r} has unknown kind {kind!r}; one of {', '.join(KINDS)}",
                code="invalid_field",
            )
    return dict(fields)


def coerce(value: Any, kind: str) -> Scalar | None:
    """Return ``value`` as stored for ``kind`` (datetimes as epoch seconds); None if it won't."""
    try:
        if kind == "keyword":
            return value if isinstance(value, str) else str(value)
        if kind == "bool":
            return value if isinstance(value, bool) else None
        if kind == "integer":
            return int(value) if not isinstance(value, bool) else None
        if kind == "float":
            return float(value) if not isinstance(value, bool) else None
        if kind == "datetime":
            return to_epoch(value)
    except (TypeError, ValueError):
        return None
    return None


def to_epoch(value: Any) -> float:
    """Return epoch seconds for a number or an ISO-8601 date/datetime string (UTC if naive)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    raise ValueError(f"not a date: {value!r}")


def indexed_metadata(meta: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Scalar]:
    """Return the declared fields of ``meta``, coerced; values that do not fit are left out."""
    out: dict[str, Scalar] = {}
    for name, kind in fields.items():
        if name in meta:
            value = coerce(meta[name], kind)
            if value is not None:
                out[name] = value
    return out
