"""Answers: search, numbered sources, a backend, checked citations (JSON or SSE stream)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from itertools import chain
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.auth import CallerDep, authorize
from api.deps import RuntimeDep, segment_media_url
from api.errors import error_body
from api.schemas import AnswerIn, AnswerOut, CitationOut, SourceOut, UnsupportedOut
from api.search_request import media_request_body, read_media_request
from generate.answer import Answer, final_answer
from mmrag.errors import MmragError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["answer"])

_BODY = media_request_body("AnswerIn")
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": AnswerOut,
        "content": {
            "text/event-stream": {
                # Before OpenAPI 3.2 an event stream's `schema` describes each event.
                "schema": {
                    "type": "object",
                    "description": "With stream: true: 'token' events (data {\"text\"}), then "
                    "one 'answer' event (data: AnswerOut), or an 'error' event (data: "
                    "{\"error\": {\"code\", \"message\"}}).",
                    "properties": {
                        "event": {"type": "string", "enum": ["token", "answer", "error"]},
                        "data": {"type": "string", "description": "the event's JSON"},
                    },
                    "required": ["event", "data"],
                }
            }
        },
    }
}
EXTRA_SCHEMAS: list[type[BaseModel]] = [AnswerIn]


@router.post("/answer", openapi_extra=_BODY, responses=_RESPONSES, response_model=None)
async def answer_endpoint(
    request: Request, rt: RuntimeDep, caller: CallerDep
) -> AnswerOut | StreamingResponse:
    body, image, audio = await read_media_request(
        request, rt.settings, AnswerIn, lambda b: (b.image, b.audio)
    )
    for name in {body.collection, *body.collections} - {None}:
        authorize(caller, "read", name)
    k = rt.settings.answer_k if body.k is None else body.k
    search = body.search_body(body.question, k)
    asking = await run_in_threadpool(
        rt.answerer.ask, body.question, search, body.backend, image, audio
    )
    events, degraded = asking.events, asking.degraded
    if not body.stream:
        final = await run_in_threadpool(final_answer, events)
        return answer_out(final, degraded)
    # The first piece is produced before the response starts, so a backend that is down or
    # times out gets a proper 502/504 rather than a stream that breaks off.
    first = await run_in_threadpool(next, events)
    return StreamingResponse(
        _sse(chain([first], events), degraded),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


def _sse(events: Iterator[str | Answer], degraded: list[str]) -> Iterator[str]:
    try:
        for item in events:
            if isinstance(item, Answer):
                yield _event("answer", answer_out(item, degraded).model_dump(mode="json"))
            else:
                yield _event("token", {"text": item})
    except MmragError as exc:
        yield _event("error", error_body(exc.code, exc.message))
    except Exception:
        log.exception("answer stream failed")
        yield _event("error", error_body("internal_error", "internal server error"))


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def answer_out(answer: Answer, degraded: list[str]) -> AnswerOut:
    """Return the response body of ``answer``."""
    return AnswerOut(
        answer=answer.text,
        citations=[
            CitationOut(
                n=c.n,
                segment_id=c.source.segment.id,
                document_id=c.source.segment.document_id,
                locator=c.source.segment.locator.to_json(),
                media_url=segment_media_url(c.source.segment),
                quote=c.quote,
            )
            for c in answer.citations
        ],
        sources=[
            SourceOut(
                n=s.n,
                segment_id=s.segment.id,
                document_id=s.segment.document_id,
                collection=s.segment.collection,
                modality=s.segment.modality.value,
                score=s.hit.score,
                locator=s.segment.locator.to_json(),
                where=s.where,
                media_url=segment_media_url(s.segment),
                text=s.text,
                picture=s.image is not None,
            )
            for s in answer.sources
        ],
        abstained=answer.abstained,
        reason=answer.reason,
        backend=answer.backend,
        evidence=answer.evidence,
        degraded=[*degraded, *answer.degraded],
        unsupported=[
            UnsupportedOut(sentence=u.sentence, cited=u.cited, support=u.support, reason=u.reason)
            for u in answer.unsupported
        ],
        dropped_citations=answer.dropped,
    )
