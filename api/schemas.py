"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CollectionIn(Strict):
    name: str = Field(min_length=1, max_length=64)


class CollectionOut(BaseModel):
    name: str
    created_at: datetime
    documents: int


class DocumentRef(BaseModel):
    id: str
    filename: str
    status: str


class UploadOut(BaseModel):
    job_id: str
    documents: list[DocumentRef]


class JobErrorOut(BaseModel):
    document_id: str
    filename: str
    reason: str


class JobOut(BaseModel):
    id: str
    status: str
    total: int
    done: int
    skipped: int
    failed: int
    errors: list[JobErrorOut]
    media_types: dict[str, int]


class SegmentOut(BaseModel):
    id: str
    ordinal: int
    modality: str
    text: str
    locator: dict[str, Any]
    media_url: str | None


class DocumentOut(BaseModel):
    id: str
    collection: str
    filename: str
    media_type: str | None
    sha256: str
    size: int
    status: str
    error: str | None
    error_code: str | None
    metadata: dict[str, Any]
    thumbnail_url: str | None
    created_at: datetime
    segments: list[SegmentOut] | None = None


class DocumentPage(BaseModel):
    documents: list[DocumentOut]
    next_cursor: str | None


class QueryIn(Strict):
    text: str | None = None


class FiltersIn(Strict):
    document_ids: list[str] = Field(default_factory=list, max_length=1000)
    modalities: list[str] = Field(default_factory=list, max_length=8)
    media_types: list[str] = Field(default_factory=list, max_length=64)


class SearchIn(Strict):
    collection: str | None = None
    collections: list[str] = Field(default_factory=list, max_length=64)
    query: QueryIn
    k: int = 10
    filters: FiltersIn = Field(default_factory=FiltersIn)

    @model_validator(mode="after")
    def _needs_collection(self) -> SearchIn:
        if not self.collection and not self.collections:
            raise ValueError("give 'collection' or 'collections'")
        return self

    def collection_names(self) -> list[str]:
        names = list(self.collections)
        if self.collection and self.collection not in names:
            names.insert(0, self.collection)
        return names


class HitOut(BaseModel):
    segment_id: str
    document_id: str
    collection: str
    modality: str
    score: float
    text: str
    locator: dict[str, Any]
    media_url: str | None
    channels: dict[str, int]


class SearchOut(BaseModel):
    hits: list[HitOut]
    degraded: list[str] = Field(default_factory=list)
