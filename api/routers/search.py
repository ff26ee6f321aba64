"""Search: text query over one or several collections."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import RuntimeDep, segment_media_url
from api.schemas import HitOut, SearchIn, SearchOut
from mmrag.catalog import collections
from mmrag.errors import BadInput
from retrieve.search import SearchRequest, search

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search")
def search_endpoint(body: SearchIn, rt: RuntimeDep) -> SearchOut:
    settings = rt.settings
    if not 1 <= body.k <= settings.max_k:
        raise BadInput(f"k must be between 1 and {settings.max_k}", code="bad_k")
    text = (body.query.text or "").strip()
    if not text:
        raise BadInput("the query is empty: give query.text", code="empty_query")
    if len(text) > settings.max_query_chars:
        raise BadInput(f"query.text is longer than {settings.max_query_chars} characters")
    names = body.collection_names()
    with rt.catalog.session() as session:
        for name in names:
            collections.get_collection(session, name)
    result = search(
        rt.catalog,
        rt.bm25,
        SearchRequest(
            collections=names,
            text=text,
            k=body.k,
            document_ids=body.filters.document_ids,
            modalities=body.filters.modalities,
            media_types=body.filters.media_types,
        ),
    )
    hits = [
        HitOut(
            segment_id=h.segment.id,
            document_id=h.segment.document_id,
            collection=h.segment.collection,
            modality=h.segment.modality.value,
            score=h.score,
            text=h.segment.text,
            locator=h.segment.locator.to_json(),
            media_url=segment_media_url(h.segment),
            channels=h.channel_ranks,
        )
        for h in result.hits
    ]
    return SearchOut(hits=hits, degraded=result.degraded)
