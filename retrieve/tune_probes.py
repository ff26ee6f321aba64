"""Inverse-cloze probes from a collection's own passages: no labels needed.

A probe's query is a passage's first sentence; its one relevant passage is that passage.
Searching the live index would find the sentence verbatim and measure nothing (every channel
scores ~1.0), and the live index cannot hide it, so probes are searched in a temporary index
of a sample of the collection's passages, built with the same tokenizer, context ("title >
heading path") and text model as the live one, in which each probe's passage is indexed
*without* its first sentence (MODELS.md's inverse cloze). A passage that opens with its
section's title has the title skipped first: the title is in every passage's context, so as
a query it would name its answer. A sentence found anywhere else in the sample's indexed
text (context included: a heading, a repeated boilerplate line) is not used, nor one that
is not prose (code, tables: under 90% letters and spaces, or over 60 words).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from index.passage_context import passage_context
from ingest.markdown import PATH_SEPARATOR
from mmrag.catalog import collections
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import DocumentRow, SegmentRow
from mmrag.domain import DocumentStatus, Modality

MIN_QUERY_WORDS = 6
MIN_REST_WORDS = 20
MAX_QUERY_WORDS = 60
MIN_PROSE = 0.9  # share of letters and spaces: code and tables fall below
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Passage:
    """A text segment as the indexes see it: id, document, context and passage text."""

    segment_id: str
    document_id: str
    context: str
    text: str

    def indexed(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text


@dataclass(frozen=True)
class Probe:
    query: str
    segment_id: str  # the passage the query was cut from: the one relevant answer


def load_passages(catalog: Catalog, collection: str) -> list[Passage]:
    """Return the text passages of the collection's indexed documents; NotFound if absent."""
    with catalog.session() as session:
        query = _passages(session, collection).add_columns(DocumentRow.meta)
        rows = session.execute(query.order_by(SegmentRow.id)).all()
    return [_passage(segment, meta) for segment, meta in rows]


def count_passages(catalog: Catalog, collection: str) -> int:
    """Return how many text passages the collection's indexed documents hold."""
    with catalog.session() as session:
        query = _passages(session, collection).with_only_columns(func.count())
        return int(session.scalar(query) or 0)


def _passages(session: Session, collection: str) -> Select[Any]:
    collection_id = collections.get_collection(session, collection).id
    return (
        select(SegmentRow)
        .join(DocumentRow, SegmentRow.document_id == DocumentRow.id)
        .where(
            DocumentRow.collection_id == collection_id,
            DocumentRow.status == DocumentStatus.INDEXED,
            SegmentRow.modality == Modality.TEXT.value,
        )
    )


def _passage(segment: SegmentRow, meta: dict[str, object]) -> Passage:
    title = meta.get("title")
    section = segment.locator.get("section")
    context = passage_context(
        title if isinstance(title, str) else None, section if isinstance(section, str) else None
    )
    return Passage(segment.id, segment.document_id, context, " ".join(segment.text.split()))


def split_first_sentence(text: str) -> tuple[str, str] | None:
    """Return (first sentence, the rest) when both are long enough to probe with, else None."""
    parts = _SENTENCE_END.split(text, maxsplit=1)
    if len(parts) != 2:
        return None
    first, rest = parts
    words = first.split()
    if not MIN_QUERY_WORDS <= len(words) <= MAX_QUERY_WORDS or len(rest.split()) < MIN_REST_WORDS:
        return None
    if sum(c.isalpha() or c.isspace() for c in first) < MIN_PROSE * len(first):
        return None
    return first, rest


def without_title(passage: Passage) -> str:
    """Return the passage's text without its section's title when it opens with it."""
    title = passage.context.rsplit(PATH_SEPARATOR, 1)[-1].strip()
    if title and passage.text.casefold().startswith(title.casefold()):
        return passage.text[len(title) :].lstrip()
    return passage.text


def sample_probes(
    passages: Sequence[Passage], queries: int, size: int, seed: int = 0
) -> tuple[list[Probe], list[Passage]]:
    """Return up to ``queries`` probes and the ``size`` passages to index (sentences cut).

    Deterministic for a seed: the same collection gives the same probes.
    """
    order = list(passages)
    random.Random(seed).shuffle(order)
    sample = order[: max(size, 1)]
    texts = "\n".join(p.indexed().casefold() for p in sample)
    probes: list[Probe] = []
    indexed: list[Passage] = []
    for passage in sample:
        split = split_first_sentence(without_title(passage)) if len(probes) < queries else None
        # Found once in the whole sample: only in its own passage's text, which loses it.
        if split and texts.count(split[0].casefold()) == 1:
            probes.append(Probe(split[0], passage.segment_id))
            passage = Passage(passage.segment_id, passage.document_id, passage.context, split[1])
        indexed.append(passage)
    return probes, indexed
