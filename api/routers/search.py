"""Search: text, image and/or sound over one or several collections (JSON or multipart)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.auth import CallerDep, authorize
from api.deps import CatalogDep, RetrieverDep, SettingsDep, media_url, segment_media_url
from api.schemas import ChannelExplain, HitOut, SearchIn, SearchOut
from api.search_request import media_request_body, read_search_request
from mmrag.catalog.db import Catalog
from mmrag.domain import Hit
from mmrag.settings import Settings
from retrieve import service
from retrieve.search import Retriever

router = APIRouter(prefix="/v1", tags=["search"])

_BODY = media_request_body("SearchIn")
EXTRA_SCHEMAS = [SearchIn]


@router.post("/search", openapi_extra=_BODY)
async def search_endpoint(
    request: Request,
    response: Response,
    settings: SettingsDep,
    catalog: CatalogDep,
    retriever: RetrieverDep,
    caller: CallerDep,
) -> SearchOut:
    body, image, audio = await read_search_request(request, settings)
    for name in body.collection_names():
        authorize(caller, "read", name)
    out, timings = await run_in_threadpool(
        _search, settings, catalog, retriever, body, image, audio
    )
    response.headers["Server-Timing"] = ", ".join(
        f"{phase};dur={seconds * 1000:.2f}" for phase, seconds in timings.items()
    )
    return out


def _search(
    settings: Settings,
    catalog: Catalog,
    retriever: Retriever,
    body: SearchIn,
    image: bytes | None,
    audio: bytes | None,
) -> tuple[SearchOut, dict[str, float]]:
    result = service.search(catalog, retriever, settings, body, image, audio)
    hits = [_hit(h, body.explain) for h in result.hits]
    return SearchOut(hits=hits, degraded=result.degraded), result.timings


def _hit(hit: Hit, explain: bool) -> HitOut:
    segment = hit.segment
    return HitOut(
        segment_id=segment.id,
        document_id=segment.document_id,
        collection=segment.collection,
        modality=segment.modality.value,
        score=hit.score,
        text=segment.text,
        locator=segment.locator.to_json(),
        media_url=segment_media_url(segment),
        preview_url=media_url(segment.media_key),
        channels=hit.channel_ranks,
        merged=list(hit.merged),
        explain={
            name: ChannelExplain(rank=rank, score=hit.channel_scores[name])
            for name, rank in hit.channel_ranks.items()
        }
        if explain
        else None,
    )
