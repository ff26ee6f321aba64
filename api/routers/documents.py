"""Documents: upload (multipart), list with cursor paging, get with segments, delete."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from api.auth import CallerDep, authorize
from api.deps import CeleryDep, RuntimeDep, media_url
from api.schemas import DocumentOut, DocumentPage, DocumentRef, SegmentOut, UploadOut
from mmrag.catalog import collections, documents, jobs
from mmrag.catalog.models import CollectionRow, DocumentRow
from mmrag.domain import Stage
from mmrag.errors import BadInput, PayloadTooLarge
from mmrag.metadata import parse_user_metadata
from workers.app import send_stage
from workers.bulk import accept
from workers.maintenance import delete_document

log = logging.getLogger(__name__)
router = APIRouter(tags=["documents"])


def clean_filename(raw: str | None) -> str:
    """Return the base name of an uploaded file's name; refuse NUL and control characters."""
    name = raw or "upload"
    if any(ord(c) < 32 for c in name):
        raise BadInput("filename contains NUL or control characters", code="invalid_filename")
    base = PurePosixPath(name.replace("\\", "/")).name
    if base in ("", ".", ".."):
        raise BadInput(f"filename {name[:80]!r} has no usable name", code="invalid_filename")
    return base[:255]


def parse_metadata(raw: str | None) -> dict[str, Any]:
    return parse_user_metadata(raw) if raw else {}


@router.post("/v1/collections/{name}/documents", status_code=202)
def upload_documents(
    name: str,
    rt: RuntimeDep,
    celery: CeleryDep,
    caller: CallerDep,
    files: Annotated[list[UploadFile], File(description="one part per file")],
    metadata: Annotated[str | None, Form(description="JSON object for every file")] = None,
) -> UploadOut:
    authorize(caller, "write", name)
    meta = parse_metadata(metadata)
    if len(files) > rt.settings.max_files_per_upload:
        raise BadInput(
            f"at most {rt.settings.max_files_per_upload} files per upload", code="too_many_files"
        )
    rt.blobs.ensure_room(rt.settings.min_free_bytes)  # before the job exists: nothing left over
    names = [clean_filename(f.filename) for f in files]
    for upload, filename in zip(files, names, strict=True):  # refuse before storing any
        if upload.size is not None and upload.size > rt.settings.max_upload_bytes:
            raise PayloadTooLarge(
                f"{filename} is larger than the limit of {rt.settings.max_upload_bytes} bytes"
            )
    with rt.catalog.session() as session:
        collection_id = collections.get_collection(session, name).id
        job_id = jobs.create_job(session, collection_id).id
    refs, fresh = [], []
    for upload, filename in zip(files, names, strict=True):
        reg = accept(
            rt,
            upload.file,
            collection_id=collection_id,
            job_id=job_id,
            filename=filename,
            metadata=meta,
        )
        refs.append(DocumentRef(id=reg.document.id, filename=filename, status=reg.document.status))
        if reg.created:
            fresh.append(reg.document.id)
    _announce(celery, fresh)
    return UploadOut(job_id=job_id, documents=refs)


def _announce(celery: CeleryDep, document_ids: list[str]) -> None:
    for document_id in document_ids:
        try:
            send_stage(celery, Stage.EXTRACT, document_id)
        except Exception:  # the broker is a doorbell; the sweeper re-sends what is queued
            log.warning("broker unavailable; %s stays queued for the sweeper", document_id)


@router.get("/v1/collections/{name}/documents")
def list_documents(
    name: str,
    rt: RuntimeDep,
    caller: CallerDep,
    status: str | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DocumentPage:
    authorize(caller, "read", name)
    with rt.catalog.session() as session:
        collection = collections.get_collection(session, name)
        rows = documents.list_documents(
            session, collection.id, status=status, after=cursor, limit=limit + 1
        )
        more = len(rows) > limit
        out = [_document_out(r, name) for r in rows[:limit]]
    return DocumentPage(documents=out, next_cursor=out[-1].id if more else None)


@router.get("/v1/documents/{document_id}")
def get_document(document_id: str, rt: RuntimeDep, caller: CallerDep) -> DocumentOut:
    with rt.catalog.session() as session:
        row = documents.get_document(session, document_id)
        collection = session.get_one(CollectionRow, row.collection_id).name
        authorize(caller, "read", collection)
        segments = [
            SegmentOut(
                id=s.id,
                ordinal=s.ordinal,
                modality=s.modality,
                text=s.text,
                locator=s.locator,
                media_url=media_url(s.media_key),
            )
            for s in documents.document_segments(session, document_id)
        ]
        return _document_out(row, collection, segments)


@router.delete("/v1/documents/{document_id}", status_code=204)
def delete(document_id: str, rt: RuntimeDep, caller: CallerDep) -> Response:
    if caller is not None:
        with rt.catalog.session() as session:
            row = documents.get_document(session, document_id)
            authorize(caller, "write", session.get_one(CollectionRow, row.collection_id).name)
    delete_document(rt, document_id)
    return Response(status_code=204)


def _document_out(
    row: DocumentRow, collection: str, segments: list[SegmentOut] | None = None
) -> DocumentOut:
    return DocumentOut(
        id=row.id,
        collection=collection,
        filename=row.filename,
        media_type=row.media_type,
        sha256=row.sha256,
        size=row.size,
        status=row.status,
        error=row.error,
        error_code=row.error_code,
        metadata=row.meta,
        thumbnail_url=media_url(row.thumbnail_key),
        created_at=row.created_at,
        segments=segments,
    )
