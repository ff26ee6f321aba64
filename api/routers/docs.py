"""The OpenAPI document and its interactive pages (Swagger UI, ReDoc), served from local files.

FastAPI's own /docs loads Swagger UI from a CDN, a blank page offline or behind a firewall.
The scripts and styles here come from the fastapi-offline package's static folder (the
upstream swagger-ui-dist and ReDoc builds), so nothing is fetched from elsewhere. The assets
hold nothing about this service and are always served; the document and the pages that
show it need a key once keys exist, unless MMRAG_DOCS_PUBLIC is set.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.params import Depends
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
# Everything from this server (FastAPI's page starts the UI from an inline script); ReDoc's
# footer logo, its one remote file, is refused rather than fetched.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; frame-ancestors 'none'"
)
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
def openapi_document(request: Request) -> JSONResponse:
    schema: dict[str, Any] = request.app.openapi()
    return JSONResponse(schema)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    page = get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
    )
    page.headers["Content-Security-Policy"] = PAGE_POLICY
    return page


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    page = get_redoc_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    )
    page.headers["Content-Security-Policy"] = PAGE_POLICY
    return page


def install_docs(app: FastAPI, public: bool, keyed: list[Depends]) -> None:
    """Serve the docs assets openly and the document and pages keyed unless ``public``.

    The app must be created with ``openapi_url=None`` (and no docs URLs) so that these routes
    are the only ones; ``app.openapi()`` still builds the schema.
    """
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    app.include_router(router, dependencies=[] if public else keyed)
