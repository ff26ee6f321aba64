"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# Search requests are read by retrieve/ (the CLI builds them too); the API serves them as is.
from retrieve.request import MAX_K, FiltersIn, QueryIn, RangeIn, SearchIn

__all__ = ["FiltersIn", "QueryIn", "RangeIn", "SearchIn"]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# The catalog stores UTC; SQLite hands it back naive. Responses carry the offset (RFC 3339).
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")  # validation errors add ``details``

    code: str = Field(description="Stable, machine-readable error code.")
    message: str


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class CollectionIn(Strict):
    name: str = Field(min_length=1, max_length=64)
    metadata_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Filterable metadata: name -> keyword|integer|float|bool|datetime.",
    )


class FusionOut(BaseModel):
    method: str = Field(description="rrf, minmax or dbsf.")
    weights: dict[str, float]
    rrf_k: int
    source: str = Field(description="'tuned' (mmrag tune) or 'settings' (the defaults).")


class CollectionOut(BaseModel):
    name: str
    created_at: UtcDatetime
    documents: int
    last_added_at: UtcDatetime | None = None  # newest document (the UI picks it by default)
    metadata_fields: dict[str, str] = Field(default_factory=dict)
    fusion: FusionOut | None = Field(
        default=None, description="The fusion its searches use unless they name one."
    )


class TuneOut(BaseModel):
    """A tune run: queued, running (phase, done of total), done (result) or failed (error)."""

    id: str
    status: str
    phase: str | None = None
    done: int | None = None
    total: int | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: ErrorDetail | None = None
    result: dict[str, Any] | None = Field(
        default=None, description="Every candidate's recall@1/@10, nDCG@10 and the winner."
    )


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


class JobCountsOut(BaseModel):
    id: str
    status: str
    total: int
    done: int
    skipped: int
    failed: int


class JobOut(JobCountsOut):
    errors: list[JobErrorOut]
    media_types: dict[str, int] = Field(description="Indexed documents per media type.")
    kinds: dict[str, dict[str, int]] = Field(
        description="Per kind (pdf, text, image, audio, video, other): indexed and failed."
    )


class JobSummaryOut(JobCountsOut):
    created_at: UtcDatetime
    updated_at: UtcDatetime


class JobPage(BaseModel):
    jobs: list[JobSummaryOut] = Field(description="Newest first.")
    next_cursor: str | None


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
    created_at: UtcDatetime
    segments: list[SegmentOut] | None = None


class DocumentPage(BaseModel):
    documents: list[DocumentOut]
    next_cursor: str | None


class ChannelExplain(BaseModel):
    rank: int
    score: float


class HitOut(BaseModel):
    segment_id: str
    document_id: str
    collection: str
    modality: str
    score: float
    text: str
    locator: dict[str, Any]
    media_url: str | None = Field(
        description="What shows the hit: its own media, or the original at the cited page "
        "(#page=N) or moment (#t=start,end for audio and video)."
    )
    preview_url: str | None = Field(
        default=None, description="The segment's own picture (keyframe, page render, image)."
    )
    channels: dict[str, int]
    explain: dict[str, ChannelExplain] | None = None
    merged: list[str] = Field(
        default_factory=list, description="Segments at nearby times folded into this span."
    )


class SearchOut(BaseModel):
    hits: list[HitOut]
    degraded: list[str] = Field(default_factory=list)


# Answers (POST /v1/answer).


class AnswerIn(Strict):
    collection: str | None = None
    collections: list[str] = Field(default_factory=list, max_length=64)
    question: str = Field(description="The question; also the search query.")
    image: str | None = Field(default=None, description="Picture that is part of the question.")
    audio: str | None = Field(default=None, description="Sound that is part of the question.")
    k: int | None = Field(default=None, le=MAX_K, description="Hits retrieved; default: answer_k.")
    backend: str | None = Field(
        default=None, description="extractive, transformers or openai; default: answer_backend."
    )
    stream: bool = Field(default=False, description="Server-Sent Events: tokens, then answer.")
    filters: FiltersIn = Field(default_factory=FiltersIn)

    @model_validator(mode="after")
    def _needs_collection(self) -> AnswerIn:
        if not self.collection and not self.collections:
            raise ValueError("give 'collection' or 'collections'")
        return self

    def search_body(self, question: str, k: int) -> SearchIn:
        """Return the search that gathers this question's sources."""
        return SearchIn(
            collection=self.collection,
            collections=self.collections,
            query=QueryIn(text=question),
            k=k,
            filters=self.filters,
        )


class CitationOut(BaseModel):
    n: int
    segment_id: str
    document_id: str
    locator: dict[str, Any]
    media_url: str | None = Field(description="The cited page, picture or moment (#t=).")
    quote: str = Field(description="The source sentence that best matches what is claimed.")


class SourceOut(BaseModel):
    n: int
    segment_id: str
    document_id: str
    collection: str
    modality: str
    score: float
    locator: dict[str, Any]
    where: str = Field(description="The locator in words: page, section, time range.")
    media_url: str | None
    text: str = Field(description="The text given to the backend (cut to the budget).")
    picture: bool = Field(description="The segment's picture was given to the backend.")


class UnsupportedOut(BaseModel):
    sentence: str
    cited: list[int]
    support: float = Field(description="Share of the sentence's terms in its best source.")
    reason: str


class AnswerOut(BaseModel):
    answer: str
    citations: list[CitationOut]
    sources: list[SourceOut]
    abstained: bool
    reason: str | None = Field(default=None, description="Why the answer abstained.")
    backend: str
    evidence: float = Field(description="Share of the question's terms in the best source.")
    degraded: list[str] = Field(default_factory=list)
    unsupported: list[UnsupportedOut] = Field(default_factory=list)
    dropped_citations: list[int] = Field(
        default_factory=list, description="Cited numbers that named no given source."
    )
