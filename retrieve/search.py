"""Query -> ranked, hydrated hits: run the channels, fuse with RRF, hydrate from the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from index.bm25.base import BM25Index, TermFilter
from mmrag.catalog.db import Catalog
from mmrag.catalog.documents import segments_by_id
from mmrag.domain import Hit, Modality
from mmrag.errors import BadInput
from retrieve.fusion import fuse_rrf


@dataclass(frozen=True)
class SearchRequest:
    collections: Sequence[str]
    text: str
    k: int = 10
    document_ids: Sequence[str] = ()
    modalities: Sequence[str] = ()
    media_types: Sequence[str] = ()
    rrf_k: int = 60


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    degraded: list[str] = field(default_factory=list)


def search(catalog: Catalog, bm25: BM25Index, request: SearchRequest) -> SearchResult:
    """Return the top ``k`` fused hits for ``request``."""
    if not request.text.strip():
        raise BadInput("the query is empty: give query.text", code="empty_query")
    unknown = set(request.modalities) - {m.value for m in Modality}
    if unknown:
        raise BadInput(f"unknown modalities: {sorted(unknown)}", code="bad_filter")
    where = TermFilter(
        collections=request.collections,
        document_ids=request.document_ids,
        modalities=request.modalities,
        media_types=request.media_types,
    )
    # Over-fetch so hits hidden by hydration (a document mid-deletion) do not shorten the list.
    bm25_hits = bm25.search(request.text, request.k * 2, where)
    fused = fuse_rrf({"bm25": [h.segment_id for h in bm25_hits]}, k=request.rrf_k)
    with catalog.session() as session:
        segments = segments_by_id(session, [item for item, _, _ in fused])
    hits = [
        Hit(segment=segments[item], score=score, channel_ranks=ranks)
        for item, score, ranks in fused
        if item in segments
    ]
    return SearchResult(hits=hits[: request.k])
