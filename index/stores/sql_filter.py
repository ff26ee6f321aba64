"""Translate a :class:`~index.filters.Filter` into a SQLite WHERE clause over ``records``.

Lists travel as one JSON parameter (``IN (SELECT value FROM json_each(?))``) so a filter of
any length is one bound value. Metadata lives in a JSON column; SQLite compares a JSON
number with a bound number and never with a string, as Python's ``==`` does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from index.filters import Filter, Range
from mmrag.errors import BadInput

_COLUMNS = (
    ("collection", "collections"),
    ("document_id", "document_ids"),
    ("modality", "modalities"),
    ("media_type", "media_types"),
)


def filter_sql(where: Filter) -> tuple[str, list[object]]:
    """Return ``(clause, params)``; the clause is ``1`` when nothing is constrained."""
    clauses: list[str] = []
    params: list[object] = []
    for column, attribute in _COLUMNS:
        values: Sequence[str] = getattr(where, attribute)
        if values:
            clauses.append(f"{column} IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(values)))
    if where.created is not None:
        _range("created_at", where.created, clauses, params)
    for name, wanted in where.metadata_equals.items():
        accepted = list(wanted) if isinstance(wanted, list | tuple) else [wanted]
        clauses.append("json_extract(metadata, ?) IN (SELECT value FROM json_each(?))")
        params += [json_path(name), json.dumps(accepted)]
    for name, bounds in where.metadata_ranges.items():
        clauses.append("json_type(metadata, ?) IN ('integer', 'real')")
        params.append(json_path(name))
        _range("json_extract(metadata, ?)", bounds, clauses, params, json_path(name))
    return (" AND ".join(clauses) or "1"), params


def json_path(name: str) -> str:
    """Return the JSON path of a top-level metadata field, refusing names it cannot quote."""
    if not name or '"' in name or "\\" in name or any(ord(c) < 32 for c in name):
        raise BadInput(f"metadata field name {name!r} is not allowed", code="bad_filter")
    return f'$."{name}"'


def _range(
    expr: str, bounds: Range, clauses: list[str], params: list[object], *expr_params: object
) -> None:
    if bounds.gte is not None:
        clauses.append(f"{expr} >= ?")
        params += [*expr_params, bounds.gte]
    if bounds.lte is not None:
        clauses.append(f"{expr} <= ?")
        params += [*expr_params, bounds.lte]
