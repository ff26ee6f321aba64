"""Media: blobs by key (originals, page renders, image crops, thumbnails), with Range support."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.auth import CallerDep, authorize
from api.deps import RuntimeDep
from mmrag.catalog.documents import collections_of_blob, media_type_of
from mmrag.errors import NotFound

router = APIRouter(prefix="/v1/media", tags=["media"])


@router.get("/{key}")
def get_media(key: str, rt: RuntimeDep, caller: CallerDep) -> FileResponse:
    path = rt.blobs.path(key)
    with rt.catalog.session() as session:
        if caller is not None:  # readable when any collection using the blob is
            owners = collections_of_blob(session, key)
            readable = caller.collections("read")
            if owners and readable is not None and not owners & readable:
                authorize(caller, "read", sorted(owners)[0])
        media_type = media_type_of(session, key)
    if media_type is None or not path.exists():
        raise NotFound(f"no media with key {key}", code="media_not_found")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=86400"})
