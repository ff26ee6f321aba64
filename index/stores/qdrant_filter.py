"""Translate a :class:`~index.filters.Filter` into a Qdrant filter (payload keys below).

Every constraint is a ``must`` condition; a list of accepted values is ``MatchAny`` when
all are strings and a nested ``should`` otherwise. Numbers compare by value as Python's
``==`` does (``1 == 1.0``): a numeric equality is a closed range ``[v, v]``.
"""

from __future__ import annotations

from collections.abc import Sequence

from qdrant_client import models

from index.filters import Filter, Range, Scalar
from index.stores.sql_filter import json_path

METADATA = "metadata"  # user metadata lives under this payload key: "metadata.<field>"

_KEYWORDS = (
    ("collection", "collections"),
    ("document_id", "document_ids"),
    ("modality", "modalities"),
    ("media_type", "media_types"),
)


def to_qdrant(where: Filter | None) -> models.Filter | None:
    """Return the Qdrant filter for ``where`` (None when nothing is constrained)."""
    if where is None:
        return None
    must: list[models.Condition] = []
    for key, attribute in _KEYWORDS:
        values: Sequence[str] = getattr(where, attribute)
        if values:
            must.append(_any(key, list(values)))
    if where.created is not None:
        must.append(_range("created_at", where.created))
    for name, wanted in where.metadata_equals.items():
        accepted: list[Scalar] = list(wanted) if isinstance(wanted, list | tuple) else [wanted]  # type: ignore[list-item]
        must.append(_equals(metadata_key(name), accepted))
    for name, bounds in where.metadata_ranges.items():
        must.append(_range(metadata_key(name), bounds))
    return models.Filter(must=must) if must else None


def metadata_key(name: str) -> str:
    json_path(name)  # same refusal of unquotable names as the SQL backend
    if "." in name or "[" in name:
        return f'{METADATA}."{name}"'
    return f"{METADATA}.{name}"


def _any(key: str, values: list[str]) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchAny(any=values))


def _range(key: str, bounds: Range) -> models.FieldCondition:
    return models.FieldCondition(key=key, range=models.Range(gte=bounds.gte, lte=bounds.lte))


def _equals(key: str, accepted: list[Scalar]) -> models.Condition:
    texts = [v for v in accepted if isinstance(v, str)]
    others: list[models.Condition] = [_one(key, v) for v in accepted if not isinstance(v, str)]
    if texts:
        others.append(_any(key, texts))
    return others[0] if len(others) == 1 else models.Filter(should=others)


def _one(key: str, value: Scalar) -> models.FieldCondition:
    if isinstance(value, bool):
        return models.FieldCondition(key=key, match=models.MatchValue(value=value))
    number = float(value)
    return models.FieldCondition(key=key, range=models.Range(gte=number, lte=number))
