"""Documents: upload (multipart), list with cursor paging, get with segments, delete."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from api.auth import CallerDep, authorize
from api.deps import CatalogDep, DoorbellDep, IntakeDep, StateDep, media_url
from api.schemas import DocumentOut, DocumentPage, DocumentRef, SegmentOut, UploadOut
from index.removal import delete_document
from mmrag.catalog import collections, documents, jobs
from mmrag.catalog.models import DocumentRow
from mmrag.errors import BadInput, PayloadTooLarge
from mmrag.intake import announce
from mmrag.metadata import parse_user_metadata

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
    intake: IntakeDep,
    doorbell: DoorbellDep,
    caller: CallerDep,
    files: Annotated[list[UploadFile], File(description="one part per file")],
    metadata: Annotated[str | None, Form(description="JSON object for every file")] = None,
) -> UploadOut:
    authorize(caller, "write", name)
    meta = parse_metadata(metadata)
    settings = intake.settings
    if len(files) > settings.max_files_per_upload:
        raise BadInput(
            f"at most {settings.max_files_per_upload} files per upload", code="too_many_files"
        )
    intake.blobs.ensure_room(settings.min_free_bytes)  # before the job exists: nothing left over
    names = [clean_filename(f.filename) for f in files]
    for upload, filename in zip(files, names, strict=True):  # refuse before storing any
        if upload.size is not None and upload.size > settings.max_upload_bytes:
            raise PayloadTooLarge(
                f"{filename} is larger than the limit of {settings.max_upload_bytes} bytes"
            )
    with intake.catalog.session() as session:
        collection_id = collections.get_collection(session, name).id
        job_id = jobs.create_job(session, collection_id).id
    refs, fresh = [], []
    for upload, filename in zip(files, names, strict=True):
        reg = intake.accept(
            upload.file,
            collection_id=collection_id,
            job_id=job_id,
            filename=filename,
            metadata=meta,
        )
        refs.append(DocumentRef(id=reg.document.id, filename=filename, status=reg.document.status))
        if reg.created:
            fresh.append(reg.document.id)
    announce(doorbell, fresh)
    return UploadOut(job_id=job_id, documents=refs)


@router.get("/v1/collections/{name}/documents")
def list_documents(
    name: str,
    catalog: CatalogDep,
    caller: CallerDep,
    status: str | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DocumentPage:
    authorize(caller, "read", name)
    with catalog.session() as session:
        collection = collections.get_collection(session, name)
        rows = documents.list_documents(
            session, collection.id, status=status, after=cursor, limit=limit + 1
        )
        more = len(rows) > limit
        out = [_document_out(r, name) for r in rows[:limit]]
    return DocumentPage(documents=out, next_cursor=out[-1].id if more else None)


@router.get("/v1/documents/{document_id}")
def get_document(document_id: str, catalog: CatalogDep, caller: CallerDep) -> DocumentOut:
    with catalog.session() as session:
        row = documents.get_document(session, document_id)
        collection = collections.name_of(session, row.collection_id)
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
def delete(document_id: str, rt: StateDep, caller: CallerDep) -> Response:
    if caller is not None:
        with rt.catalog.session() as session:
            row = documents.get_document(session, document_id)
            authorize(caller, "write", collections.name_of(session, row.collection_id))
    delete_document(rt.catalog, rt.blobs, rt.indexes, document_id)
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
