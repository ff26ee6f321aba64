"""Collections: create, list (with the fusion each uses), and tune their fusion (a job)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from fastapi import APIRouter

from api.auth import CallerDep, authorize
from api.deps import CatalogDep, IndexesDep, SettingsDep
from api.schemas import CollectionIn, CollectionOut, FusionOut, TuneOut
from index.indexes import Indexes
from mmrag.catalog import collections, counts
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import CollectionRow
from mmrag.errors import NotFound
from mmrag.settings import Settings
from retrieve.fusion_choice import resolve_fusion
from retrieve.tune_job import run_tune, start_tune, tune_state

router = APIRouter(prefix="/v1/collections", tags=["collections"])


@router.post("", status_code=201)
def create_collection(
    body: CollectionIn, catalog: CatalogDep, settings: SettingsDep, caller: CallerDep
) -> CollectionOut:
    authorize(caller, "admin")
    with catalog.session() as session:
        row = collections.create_collection(session, body.name, body.metadata_fields)
    return CollectionOut(
        name=row.name,
        created_at=row.created_at,
        documents=0,
        metadata_fields=collections.metadata_fields(row),
        fusion=fusion_out(settings, None),
    )


@router.get("")
def list_collections(
    catalog: CatalogDep, settings: SettingsDep, caller: CallerDep
) -> list[CollectionOut]:
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
                fusion=fusion_out(settings, collections.fusion_settings(r)),
            )
            for r in rows
            if visible is None or r.name in visible
        ]


def fusion_out(settings: Settings, stored: dict[str, Any] | None) -> FusionOut:
    """Return the fusion a collection's searches use: its tuned one, else the settings'."""
    choice = resolve_fusion(settings, [stored])
    source = "tuned" if stored else "settings"
    return FusionOut(
        method=choice.method, weights=choice.weights, rrf_k=choice.rrf_k, source=source
    )


@router.post("/{name}/tune", status_code=202)
def tune_collection(
    name: str, catalog: CatalogDep, indexes: IndexesDep, settings: SettingsDep, caller: CallerDep
) -> TuneOut:
    """Start tuning the collection's fusion; poll GET .../tune for progress and the result."""
    authorize(caller, "write", name)
    state = start_tune(catalog, name)
    threading.Thread(
        target=_run_quietly,
        args=(catalog, indexes, settings, name),
        name=f"tune-{name}",
        daemon=True,
    ).start()
    return TuneOut.model_validate(state)


def _run_quietly(catalog: Catalog, indexes: Indexes, settings: Settings, name: str) -> None:
    # The outcome, a failure included, is recorded in the collection's tune state, where
    # GET .../tune reads it: a thread has no caller to raise to.
    with contextlib.suppress(Exception):
        run_tune(catalog, lambda: indexes.spaces.get("text"), settings, name)


@router.get("/{name}/tune")
def get_tune(name: str, catalog: CatalogDep, caller: CallerDep) -> TuneOut:
    """Return the collection's last tune run: progress, then the result or the error."""
    authorize(caller, "read", name)
    state = tune_state(catalog, name)
    if state is None:
        raise NotFound(f"collection {name[:80]!r} was never tuned", code="tune_not_found")
    return TuneOut.model_validate(state)
