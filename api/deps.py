"""Request dependencies as narrow ``Annotated`` aliases over the API's :class:`ServiceState`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.state import ServiceState
from generate.backends.registry import BackendRegistry
from index.indexes import Indexes
from mmrag.blobs import BlobStore
from mmrag.catalog.db import Catalog
from mmrag.doorbell import Doorbell
from mmrag.intake import Intake
from mmrag.links import media_url, segment_media_url
from mmrag.settings import Settings
from retrieve.search import Retriever

__all__ = ["media_url", "segment_media_url"]  # routers link media through these


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]
# The whole state, for routes written before the narrow aliases below.
RuntimeDep = StateDep


def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_catalog(state: StateDep) -> Catalog:
    return state.catalog


def get_blobs(state: StateDep) -> BlobStore:
    return state.blobs


def get_indexes(state: StateDep) -> Indexes:
    return state.indexes


def get_retriever(state: StateDep) -> Retriever:
    return state.retriever


def get_doorbell(state: StateDep) -> Doorbell:
    return state.doorbell


def get_intake(state: StateDep) -> Intake:
    return state.intake


def get_answer_backends(state: StateDep) -> BackendRegistry:
    return state.answer_backends


SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]
IndexesDep = Annotated[Indexes, Depends(get_indexes)]
RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
DoorbellDep = Annotated[Doorbell, Depends(get_doorbell)]
IntakeDep = Annotated[Intake, Depends(get_intake)]
AnswerBackendsDep = Annotated[BackendRegistry, Depends(get_answer_backends)]

