"""Request dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from celery import Celery
from fastapi import Depends, Request

from mmrag.domain import Segment
from workers.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_celery(request: Request) -> Celery:
    celery: Celery = request.app.state.celery
    return celery


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CeleryDep = Annotated[Celery, Depends(get_celery)]


def media_url(key: str | None, fragment: str = "") -> str | None:
    return f"/v1/media/{key}{fragment}" if key else None


def segment_media_url(segment: Segment) -> str | None:
    link = segment.media_link()
    return media_url(*link) if link else None
