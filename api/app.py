"""The FastAPI application: routers, error handlers, limits, and the stores it serves from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from celery import Celery
from fastapi import FastAPI

from api import errors
from api.limits import BodySizeLimit
from api.routers import collections, documents, health, jobs, media, search
from mmrag import __version__
from mmrag.settings import Settings, get_settings
from workers.app import create_app as create_celery
from workers.runtime import Runtime


def create_app(settings: Settings | None = None, celery: Celery | None = None) -> FastAPI:
    """Return the API app; stores open at startup and close at shutdown."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = Runtime.open(settings)
        app.state.celery = celery or create_celery(settings)
        yield
        app.state.runtime.close()

    app = FastAPI(title="mmrag", version=__version__, lifespan=lifespan)
    errors.install(app)
    for module in (health, collections, documents, jobs, search, media):
        app.include_router(module.router)
    # Multipart overhead on top of the file limit is small; allow 1 MiB for it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes + 1024 * 1024)
    return app
