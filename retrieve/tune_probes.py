"""Inverse-cloze probes from a collection's own passages: no labels needed.

A probe's query is a passage's first sentence; its one relevant passage is that passage.
Searching the live index would find the sentence verbatim and measure nothing (every channel
scores ~1.0), and the live index cannot hide it, so probes are searched in a temporary index
of a sample of the collection's passages, built with the same tokenizer, context ("title >
heading path") and text model as the live one, in which each probe's passage is indexed
*without* its first sentence (MODELS.md's inverse cloze). A sentence that also stands in
another sampled passage (a repeated boilerplate line) is not used: its answer is ambiguous.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from index.passage_context import passage_context
from mmrag.catalog import collections
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import DocumentRow, SegmentRow
from mmrag.domain import DocumentStatus, Modality

MIN_QUERY_WORDS = 6
MIN_REST_WORDS = 20
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
        collection_id = collections.get_collection(session, collection).id
        rows = session.execute(
            select(SegmentRow, DocumentRow.meta)
            .join(DocumentRow, SegmentRow.document_id == DocumentRow.id)
            .where(
                DocumentRow.collection_id == collection_id,
                DocumentRow.status == DocumentStatus.INDEXED,
                SegmentRow.modality == Modality.TEXT.value,
            )
            .order_by(SegmentRow.id)
        ).all()
    return [_passage(segment, meta) for segment, meta in rows]


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
    if len(first.split()) < MIN_QUERY_WORDS or len(rest.split()) < MIN_REST_WORDS:
        return None
    return first, rest


def sample_probes(
    passages: Sequence[Passage], queries: int, size: int, seed: int = 0
) -> tuple[list[Probe], list[Passage]]:
    """Return up to ``queries`` probes and the ``size`` passages to index (sentences cut).

    Deterministic for a seed: the same collection gives the same probes.
    """
    order = list(passages)
    random.Random(seed).shuffle(order)
    sample = order[: max(size, 1)]
    texts = [p.text.casefold() for p in sample]
    probes: list[Probe] = []
    indexed: list[Passage] = []
    for passage in sample:
        split = split_first_sentence(passage.text) if len(probes) < queries else None
        if split and sum(split[0].casefold() in t for t in texts) == 1:
            probes.append(Probe(split[0], passage.segment_id))
            passage = Passage(passage.segment_id, passage.document_id, passage.context, split[1])
        indexed.append(passage)
    return probes, indexed
