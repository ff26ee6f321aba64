"""Collections: create and list."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import CallerDep, authorize
from api.deps import CatalogDep
from api.schemas import CollectionIn, CollectionOut
from mmrag.catalog import collections, counts
from mmrag.catalog.models import CollectionRow

router = APIRouter(prefix="/v1/collections", tags=["collections"])


@router.post("", status_code=201)
def create_collection(body: CollectionIn, catalog: CatalogDep, caller: CallerDep) -> CollectionOut:
    authorize(caller, "admin")
    with catalog.session() as session:
        row = collections.create_collection(session, body.name, body.metadata_fields)
    return CollectionOut(
        name=row.name,
        created_at=row.created_at,
        documents=0,
        metadata_fields=collections.metadata_fields(row),
    )


@router.get("")
def list_collections(catalog: CatalogDep, caller: CallerDep) -> list[CollectionOut]:
    visible = None if caller is None else caller.collections("read")  # None: all
    with catalog.session() as session:
        activity = counts.activity_per_collection(session)
        empty = counts.CollectionActivity(documents=0, last_added_at=None)
        rows: list[CollectionRow] = collections.list_collections(session)
        return [
            CollectionOut(
                name=r.name,
                created_at=r.created_at,
                documents=activity.get(r.id, empty).documents,
                last_added_at=activity.get(r.id, empty).last_added_at,
                metadata_fields=collections.metadata_fields(r),
            )
            for r in rows
            if visible is None or r.name in visible
        ]
