"""The web UI: ``GET /`` serves the single page, ``/ui/...`` its static modules and styles."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "ui" / "static"

router = APIRouter(tags=["ui"], include_in_schema=False)
# Plain files, no build step: the browser loads ES modules straight from here.
router.mount("/ui", StaticFiles(directory=STATIC_DIR), name="ui")


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    # no-cache: the page is revalidated, so a new release is picked up on reload.
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})
