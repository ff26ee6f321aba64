"""Tantivy schema for BM25 segments, and the translation of :class:`Filter` into its queries.

Metadata becomes exact terms: ``name=value`` in ``meta_str`` for strings, and
``name-<hex>`` in ``meta_num`` for numbers and booleans, where ``<hex>`` is an order-keeping
encoding of the value as float64, so a range is a term-dictionary range. Python compares
``True == 1 == 1.0``; encoding every number as float keeps that equality inside the index.
(Tantivy's JSON fields were tried first: a float bound on an integer JSON column panics.)
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence

import tantivy
from tantivy import FieldType, Occur, Query

from index.filters import Filter, Payload, Range, Scalar
from mmrag.errors import BadInput

BODY = "body"
WHITESPACE = "mmrag_ws"
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def build_schema() -> tantivy.Schema:
    """Return the schema: ids and filter fields as exact terms, the body as frequencies."""
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("segment_id", stored=True, tokenizer_name="raw", index_option="basic")
    for name in ("document_id", "collection", "modality", "media_type"):
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    sb.add_float_field("created_at", indexed=True, fast=True)
    sb.add_text_field("meta_str", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("meta_num", tokenizer_name="raw", index_option="basic")
    sb.add_text_field(BODY, tokenizer_name=WHITESPACE, index_option="freq")
    return sb.build()


def whitespace_analyzer() -> tantivy.TextAnalyzer:
    """Return the analyzer of the body: the text arrives tokenized, joined by spaces."""
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def to_document(payload: Payload, tokens: Sequence[str]) -> tantivy.Document:
    """Return the tantivy document of one segment."""
    doc = tantivy.Document()
    doc.add_text("segment_id", payload.segment_id)
    doc.add_text("document_id", payload.document_id)
    doc.add_text("collection", payload.collection)
    doc.add_text("modality", payload.modality)
    doc.add_text("media_type", payload.media_type)
    doc.add_float("created_at", float(payload.created_at))
    for name, value in payload.metadata.items():
        if isinstance(value, str):
            doc.add_text("meta_str", f"{name}={value}")
        else:
            doc.add_text("meta_num", _number_term(name, value))
    doc.add_text(BODY, " ".join(tokens))
    return doc


def _number_term(name: str, value: float) -> str:
    """Return ``name-<16 hex>`` whose byte order is the numeric order of ``value``."""
    (bits,) = struct.unpack(">Q", struct.pack(">d", float(value)))
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | 1 << 63
    return f"{name}-{bits:016x}"


def filter_clauses(
    index: tantivy.Index, schema: tantivy.Schema, where: Filter
) -> list[tuple[Occur, Query]]:
    """Return the Must clauses (scoring nothing) that restrict a search to ``where``."""
    queries: list[Query] = []
    for field, values in (
        ("collection", where.collections),
        ("document_id", where.document_ids),
        ("modality", where.modalities),
        ("media_type", where.media_types),
    ):
        if values:
            queries.append(Query.term_set_query(schema, field, list(values)))
    if where.created is not None and not _unbounded(where.created):
        lo, hi = where.created.gte, where.created.lte
        queries.append(Query.range_query(schema, "created_at", FieldType.Float, lo, hi))
    for name, wanted in where.metadata_equals.items():
        queries.append(_equals(schema, name, wanted))
    for name, bounds in where.metadata_ranges.items():
        queries.append(_metadata_range(index, name, bounds))
    return [(Occur.Must, Query.const_score_query(q, 0.0)) for q in queries]


def _checked(name: str) -> str:
    if not _FIELD_NAME.match(name):
        raise BadInput(f"metadata field {name!r} cannot be filtered on", code="bad_filter")
    return name


def _equals(schema: tantivy.Schema, name: str, wanted: Scalar | Sequence[Scalar]) -> Query:
    values: list[Scalar] = list(wanted) if isinstance(wanted, list | tuple) else [wanted]  # type: ignore[list-item]
    field = _checked(name)
    terms = [
        Query.term_query(schema, "meta_str", f"{field}={v}")
        if isinstance(v, str)
        else Query.term_query(schema, "meta_num", _number_term(field, v))
        for v in values
    ]
    if not terms:
        return Query.empty_query()
    return Query.boolean_query([(Occur.Should, t) for t in terms])


def _unbounded(bounds: Range) -> bool:
    return bounds.gte is None and bounds.lte is None


def _metadata_range(index: tantivy.Index, name: str, bounds: Range) -> Query:
    # tantivy-py builds term ranges only through its parser; names are checked and
    # the bounds are hex, so the query string holds nothing the parser could misread.
    # Open sides become +-inf: the field must still hold a number (Range.contains).
    field = _checked(name)
    lo = _number_term(field, -math.inf if bounds.gte is None else bounds.gte)
    hi = _number_term(field, math.inf if bounds.lte is None else bounds.lte)
    return index.parse_query(f"meta_num:[{lo} TO {hi}]", [])
