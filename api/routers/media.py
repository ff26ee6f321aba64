"""Media: blobs by key (originals, page renders, image crops, thumbnails), with Range support.

Uploads are untrusted, and this route serves them on the web UI's origin: only types that
no browser runs (pictures, sound, video, PDF, plain text) are shown inline; everything else
(HTML, SVG, XML, unknown bytes) is a download as ``application/octet-stream``, so an
uploaded page can never script the UI. Every answer is sandboxed by its CSP as well.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.auth import CallerDep
from api.deps import RuntimeDep
from mmrag.catalog.documents import collections_of_blob, media_type_of
from mmrag.errors import NotFound

router = APIRouter(prefix="/v1/media", tags=["media"])

INLINE_TYPES = frozenset(
    {
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff",
        "image/avif", "image/heic", "application/pdf", "text/plain", "text/markdown",
    }
)  # fmt: skip
INLINE_PREFIXES = ("audio/", "video/")
# Chrome will not show a PDF in a sandboxed document; a PDF's scripts run in the viewer's
# own sandbox, never in this origin.
MEDIA_POLICY = "default-src 'none'; frame-ancestors 'none'"
SANDBOXED_POLICY = f"{MEDIA_POLICY}; sandbox"


def shown_inline(media_type: str) -> bool:
    """Return whether browsers may render ``media_type`` in place (it cannot run script)."""
    return media_type in INLINE_TYPES or media_type.startswith(INLINE_PREFIXES)


@router.get("/{key}")
def get_media(key: str, rt: RuntimeDep, caller: CallerDep) -> FileResponse:
    missing = NotFound(f"no media with key {key[:80]}", code="media_not_found")
    path = rt.blobs.path(key)
    with rt.catalog.session() as session:
        if caller is not None:  # readable when any collection using the blob is
            owners = collections_of_blob(session, key)
            readable = caller.collections("read")
            if owners and readable is not None and not owners & readable:
                raise missing  # as for a missing blob: existence elsewhere is not told
        media_type = media_type_of(session, key)
    if media_type is None or not path.exists():
        raise missing
    return _file_response(path, key, media_type)


def _file_response(path: Path, key: str, media_type: str) -> FileResponse:
    headers = {"Cache-Control": "max-age=86400"}
    if shown_inline(media_type):
        policy = MEDIA_POLICY if media_type == "application/pdf" else SANDBOXED_POLICY
        headers["Content-Security-Policy"] = policy
        return FileResponse(path, media_type=media_type, headers=headers)
    headers["Content-Security-Policy"] = SANDBOXED_POLICY
    extension = mimetypes.guess_extension(media_type) or ".bin"
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=f"{key[:16]}{extension}",
        content_disposition_type="attachment",
        headers=headers,
    )
