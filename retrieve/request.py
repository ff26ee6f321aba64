"""A search request (what the API and the CLI receive) and its validation into a Query.

The request models are pydantic (the API serves their schema); :func:`build_query` turns one,
with the raw query image and sound, into a validated :class:`~retrieve.query.Query` against
the limits in the settings and the metadata fields the collections declare.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from index.filters import Filter, Range
from ingest.audio_decode import decode_audio_bytes
from ingest.base import ExtractOptions
from ingest.image_decode import EMBED_MIN_SIDE, open_reduced
from mmrag.domain import Modality
from mmrag.errors import BadInput
from mmrag.metadata import coerce, to_epoch
from mmrag.settings import Settings
from retrieve.fusion_choice import FusionIn, resolve_fusion
from retrieve.query import AudioClip, Query

QUERY_AUDIO_RATE = 48_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Every number a client sends is bounded here, far beyond real use but small enough that no
# arithmetic on it overflows (1 / (rrf_k + rank) raises OverflowError for rrf_k = 10**400)
# and that it fits a 64-bit field in every store. Too-small values (k 0, rrf_k 0) are left
# to the checks that name them (bad_k, bad_rrf_k): no arithmetic happens before those.
MAX_K = 10_000  # the max_k setting (200 by default) is the working limit
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Scalar = str | Int64 | Finite | bool


class QueryIn(Strict):
    text: str | None = Field(default=None, description="Query text.")
    image: str | None = Field(default=None, description="Query image, base64.")
    audio: str | None = Field(default=None, description="Query sound, base64 (any format).")


class RangeIn(Strict):
    gte: Finite | str | None = Field(default=None, description="Number or ISO date.")
    lte: Finite | str | None = None


class FiltersIn(Strict):
    document_ids: list[str] = Field(default_factory=list, max_length=1000)
    modalities: list[str] = Field(default_factory=list, max_length=8)
    media_types: list[str] = Field(default_factory=list, max_length=64)
    metadata: dict[str, Scalar | list[Scalar] | RangeIn] = Field(
        default_factory=dict, description="Declared metadata fields: value, list, or range."
    )
    created: RangeIn | None = Field(default=None, description="Ingestion time range.")


class SearchIn(Strict):
    collection: str | None = None
    collections: list[str] = Field(default_factory=list, max_length=64)
    query: QueryIn = Field(default_factory=QueryIn)
    k: int = Field(default=10, le=MAX_K, description="Hits; 1 to the max_k setting.")
    filters: FiltersIn = Field(default_factory=FiltersIn)
    channels: dict[str, Annotated[float, Field(allow_inf_nan=False, le=1e6)]] | None = Field(
        default=None, description="Weight per channel (bm25, text, image, audio); 0 = off."
    )
    rrf_k: int | None = Field(
        default=None, le=1_000_000, description="RRF constant; default: the rrf_k setting."
    )
    fusion: FusionIn | None = Field(
        default=None,
        description="Fusion method, weights and rrf_k; overrides 'channels' and 'rrf_k'; "
        "default: the collection's tuned fusion, else the fusion_method setting.",
    )
    rerank: bool = Field(
        default=True, description="False skips the reranker (when rerank_model is set)."
    )
    group_by_document: bool = False
    explain: bool = False
    merge_span_s: float | None = Field(
        default=None,
        ge=0,
        le=86_400,
        allow_inf_nan=False,
        description="Merge audio/video hits of one file within this many seconds into one "
        "span; 0 = off; default: the merge_span_seconds setting.",
    )

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


def build_query(
    body: SearchIn,
    image: bytes | None,
    audio: bytes | None,
    settings: Settings,
    fields: Mapping[str, str],
    stored_fusion: Sequence[Mapping[str, Any] | None] = (),
) -> Query:
    """Return the validated Query; ``fields`` are the declared metadata fields (name -> kind).

    ``stored_fusion`` holds each queried collection's tuned fusion (None: none stored).
    """
    if not 1 <= body.k <= settings.max_k:
        raise BadInput(f"k must be between 1 and {settings.max_k}", code="bad_k")
    text = (body.query.text or "").strip() or None
    if text and len(text) > settings.max_query_chars:
        raise BadInput(f"query.text is longer than {settings.max_query_chars} characters")
    fusion = resolve_fusion(settings, stored_fusion, body.fusion, body.channels, body.rrf_k)
    return Query(
        collections=body.collection_names(),
        text=text,
        image=_image(image, settings),
        audio=_audio(audio, settings),
        k=body.k,
        where=build_filter(body.filters, body.collection_names(), fields),
        weights=fusion.weights,
        rrf_k=fusion.rrf_k,
        fusion=fusion.method,
        rerank=body.rerank,
        group_by_document=body.group_by_document,
        explain=body.explain,
        merge_span_s=settings.merge_span_seconds
        if body.merge_span_s is None
        else body.merge_span_s,
    )


def _image(data: bytes | None, settings: Settings) -> Image.Image | None:
    if data is None:
        return None
    try:
        options = ExtractOptions(
            max_image_pixels=settings.max_image_pixels,
            max_image_decode_bytes=settings.max_image_decode_bytes,
        )
        return open_reduced(io.BytesIO(data), options, shortest=EMBED_MIN_SIDE)
    except BadInput as exc:
        raise BadInput(f"query image: {exc.message}", code="bad_query_image") from None


def _audio(data: bytes | None, settings: Settings) -> AudioClip | None:
    if data is None:
        return None
    try:
        decoded = decode_audio_bytes(
            data, rate=QUERY_AUDIO_RATE, max_seconds=settings.max_query_audio_seconds
        )
    except BadInput as exc:
        code = "query_audio_too_long" if exc.code == "audio_too_long" else "bad_query_audio"
        raise BadInput(f"query audio: {exc.message}", code=code) from None
    return AudioClip(decoded.waveform, decoded.sample_rate)


def build_filter(filters: FiltersIn, collections: list[str], fields: Mapping[str, str]) -> Filter:
    """Return the index Filter; refuse metadata fields the collections do not declare."""
    unknown = set(filters.modalities) - {m.value for m in Modality}
    if unknown:
        raise BadInput(f"unknown modalities: {sorted(unknown)}", code="bad_filter")
    equals: dict[str, object] = {}
    ranges: dict[str, Range] = {}
    for name, wanted in filters.metadata.items():
        kind = fields.get(name)
        if kind is None:
            declared = ", ".join(sorted(fields)) or "none"
            raise BadInput(
                f"metadata field {name!r} is not indexed in {collections}; declared: {declared}",
                code="unindexed_field",
            )
        if isinstance(wanted, RangeIn):
            ranges[name] = _range(wanted, f"filters.metadata.{name}")
        else:
            values = wanted if isinstance(wanted, list) else [wanted]
            equals[name] = [_coerced(v, kind, name) for v in values]
    created = _range(filters.created, "filters.created") if filters.created else None
    return Filter(
        collections=collections,
        document_ids=filters.document_ids,
        modalities=filters.modalities,
        media_types=filters.media_types,
        metadata_equals=equals,  # type: ignore[arg-type]
        metadata_ranges=ranges,
        created=created,
    )


def _coerced(value: object, kind: str, name: str) -> object:
    coerced = coerce(value, kind)
    if coerced is None:
        raise BadInput(f"filter value {value!r} does not fit {name} ({kind})", code="bad_filter")
    return coerced


def _range(value: RangeIn, where: str) -> Range:
    try:
        return Range(
            gte=None if value.gte is None else to_epoch(value.gte),
            lte=None if value.lte is None else to_epoch(value.lte),
        )
    except ValueError as exc:
        raise BadInput(f"{where}: {exc}", code="bad_filter") from None
