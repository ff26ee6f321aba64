"""Declared metadata fields: their kinds, and coercion of user values for indexing/filters.

A collection declares which user-metadata fields are filterable (``metadata_fields``:
name -> kind). Only declared fields are indexed beside segments (as Qdrant payload
indexes need), so a filter on an undeclared field is refused instead of silently matching
nothing.

User metadata arrives as JSON and is stored and served back as JSON, so it is bounded where
it enters (:func:`parse_user_metadata`): nesting, size, integers that fit 64 bits (what
Qdrant payloads and SQL hold) and finite numbers (JSON has no NaN or Infinity).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mmrag.errors import BadInput

KINDS = ("keyword", "integer", "float", "bool", "datetime")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

Scalar = str | int | float | bool

MAX_METADATA_BYTES = 64 * 1024
MAX_METADATA_DEPTH = 16
INT64_DIGITS = 19


def parse_user_metadata(raw: str) -> dict[str, Any]:
    """Return the JSON object ``raw``.

    Raises :class:`BadInput`: ``invalid_metadata`` when it is not a JSON object,
    ``bad_metadata`` when it is larger or deeper than allowed or holds a number out of range.
    """
    if len(raw.encode()) > MAX_METADATA_BYTES:
        raise _out_of_bounds(f"metadata is larger than {MAX_METADATA_BYTES} bytes")
    try:
        value = json.loads(raw, parse_int=_int64, parse_float=_finite, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadInput(f"metadata is not valid JSON: {exc}", code="invalid_metadata") from None
    except RecursionError:
        raise _out_of_bounds("metadata is nested too deeply") from None
    if not isinstance(value, dict):
        raise BadInput("metadata must be a JSON object", code="invalid_metadata")
    if _depth(value) > MAX_METADATA_DEPTH:
        raise _out_of_bounds(f"metadata is nested more than {MAX_METADATA_DEPTH} levels deep")
    return value


def _int64(text: str) -> int:
    value = int(text) if len(text.lstrip("-")) <= INT64_DIGITS else None
    if value is None or not -(2**63) <= value < 2**63:
        raise _out_of_bounds(f"metadata integer {text[:24]}... does not fit in 64 bits")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise _out_of_bounds(f"metadata number {text[:24]} is out of range")
    return value


def _no_constant(name: str) -> float:
    raise _out_of_bounds(f"metadata holds {name}, which is not a JSON number")


def _depth(value: Any) -> int:
    """Return how many containers deep ``value`` nests (a flat object: 1)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        deepest = max(deepest, level)
        pending.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _out_of_bounds(message: str) -> BadInput:
    return BadInput(message, code="bad_metadata")


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
