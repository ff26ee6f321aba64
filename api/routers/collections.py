"""Collections: create and list."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from api.auth import CallerDep, authorize
from api.deps import RuntimeDep
from api.schemas import CollectionIn, CollectionOut
from mmrag.catalog import collections
from mmrag.catalog.models import CollectionRow, DocumentRow
from mmrag.domain import DocumentStatus

router = APIRouter(prefix="/v1/collections", tags=["collections"])


@router.post("", status_code=201)
def create_collection(body: CollectionIn, rt: RuntimeDep, caller: CallerDep) -> CollectionOut:
    authorize(caller, "admin")
    with rt.catalog.session() as session:
        row = collections.create_collection(session, body.name, body.metadata_fields)
    return CollectionOut(
        name=row.name,
        created_at=row.created_at,
        documents=0,
        metadata_fields=collections.metadata_fields(row),
    )


@router.get("")
def list_collections(rt: RuntimeDep, caller: CallerDep) -> list[CollectionOut]:
    visible = None if caller is None else caller.collections("read")  # None: all
    with rt.catalog.session() as session:
        found = session.execute(
            select(DocumentRow.collection_id, func.count(), func.max(DocumentRow.created_at))
            .where(DocumentRow.status != DocumentStatus.DELETED)
            .group_by(DocumentRow.collection_id)
        ).all()
        counts = {row[0]: row[1] for row in found}
        last_added = {row[0]: row[2] for row in found}
        rows: list[CollectionRow] = collections.list_collections(session)
        return [
            CollectionOut(
                name=r.name,
                created_at=r.created_at,
                documents=counts.get(r.id, 0),
                last_added_at=last_added.get(r.id),
                metadata_fields=collections.metadata_fields(r),
            )
            for r in rows
            if visible is None or r.name in visible
        ]
