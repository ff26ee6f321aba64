"""The FastAPI application: routers, error handlers, limits, and the stores it serves from."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from api import errors
from api.auth import caller
from api.cross_site import CrossSiteGuard
from api.limits import BodySizeLimit
from api.metrics import RequestMetrics
from api.metrics import router as metrics_router
from api.routers import answer, collections, documents, health, jobs, media, search
from api.routers.docs import install_docs
from api.routers.ui import router as ui_router
from api.security_headers import SecurityHeaders
from api.state import ServiceState
from mmrag import __version__
from mmrag.deployment import impossible_modes
from mmrag.doorbell import Doorbell, open_doorbell
from mmrag.settings import Settings, get_settings
from mmrag.supervisor import LocalWorker

log = logging.getLogger(__name__)

SPACE_LOADER = "load-spaces"  # the thread that loads query encoders at startup


def create_app(
    settings: Settings | None = None,
    doorbell: Doorbell | None = None,
    local_worker: LocalWorker | None = None,
    *,
    bounded_shutdown: bool = False,
) -> FastAPI:
    """Return the API app; its state is composed at startup and closed at shutdown.

    ``local_worker`` is the worker ``mmrag serve`` supervises; /readyz shows its state.
    ``bounded_shutdown``: stop waiting for a model that is still loading after the grace
    (the caller then ends the process without finalizing it, as ``mmrag serve`` does).
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # `mmrag serve` refuses these; started another way, the app says so (and /readyz).
        for reason in impossible_modes(settings):
            log.error("this deployment cannot work: %s", reason)
        state = app.state.service = ServiceState.open(
            settings, doorbell or open_doorbell(settings), local_worker
        )
        app.state.key_check = state.key_check
        # Load (and warm) the query encoders before accepting requests, for at most
        # warm_before_serving_s: the first search then pays for no model. One still loading
        # after that goes on in the background (/readyz: loading); downloads never hold it.
        loader = threading.Thread(target=state.warm, name=SPACE_LOADER, daemon=True)
        loader.start()
        if settings.warm_before_serving_s > 0:
            await asyncio.to_thread(loader.join, settings.warm_before_serving_s)
        yield
        # Model libraries abort the interpreter if it exits while they are still loading;
        # a hub download that retries for minutes is not waited for past the grace (serve
        # then exits without finalizing).
        loader.join(timeout=settings.shutdown_grace_s if bounded_shutdown else None)
        if loader.is_alive():
            log.warning("a model is still loading after %.0fs; not waiting for it",
                        settings.shutdown_grace_s)  # fmt: skip
        state.close()

    app = FastAPI(
        title="mmrag",
        version=__version__,
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,  # served by api/routers/docs.py
    )
    errors.install(app)
    app.include_router(health.router)  # probes stay open: load balancers carry no keys
    app.include_router(ui_router)  # the web UI: static files, open; it sends the key
    keyed = [Depends(caller)]  # 401 on every other route unless a valid key is sent
    for module in (collections, documents, jobs, search, answer, media):
        app.include_router(module.router, dependencies=keyed)
    if settings.metrics:
        app.include_router(metrics_router, dependencies=keyed)
    install_docs(app, public=settings.docs_public, keyed=keyed)
    # Multipart overhead on top of the file limit is small; allow 1 MiB for it.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_upload_bytes + 1024 * 1024,
        read_timeout=settings.body_read_timeout_s,
    )
    app.add_middleware(CrossSiteGuard)  # before any body is read
    app.add_middleware(SecurityHeaders)  # on every answer, refusals included
    if settings.metrics:  # outermost: times everything, sets the request id
        app.add_middleware(RequestMetrics)
    _document_manual_bodies(app)
    return app


def _document_manual_bodies(app: FastAPI) -> None:
    """Add the schemas of bodies that routes parse themselves (JSON or multipart search)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            extra: list[type[BaseModel]] = [*search.EXTRA_SCHEMAS, *answer.EXTRA_SCHEMAS]
            for model in extra:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
