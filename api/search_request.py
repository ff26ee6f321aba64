"""Turn a search request (JSON, or multipart with uploaded image/sound) into a Query."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import Request
from PIL import Image
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from api.schemas import FiltersIn, RangeIn, SearchIn
from index.filters import Filter, Range
from ingest.audio_decode import decode_audio_bytes
from ingest.base import ExtractOptions
from ingest.image import open_image
from mmrag.domain import Modality
from mmrag.errors import BadInput
from mmrag.metadata import coerce, to_epoch
from mmrag.settings import Settings
from retrieve.query import AudioClip, Query

QUERY_AUDIO_RATE = 48_000


Body = TypeVar("Body", bound=BaseModel)


async def read_search_request(
    request: Request, settings: Settings
) -> tuple[SearchIn, bytes | None, bytes | None]:
    """Return the request body and the raw query image and sound, from JSON or multipart."""
    return await read_media_request(
        request, settings, SearchIn, lambda body: (body.query.image, body.query.audio), "query."
    )


async def read_media_request(
    request: Request,
    settings: Settings,
    model: type[Body],
    media_of: Callable[[Body], tuple[str | None, str | None]],
    prefix: str = "",
) -> tuple[Body, bytes | None, bytes | None]:
    """Return a ``model`` body and its raw image and sound, from JSON or multipart.

    JSON carries them base64 where ``media_of`` finds them (``prefix`` names that place in
    errors); multipart carries the body as JSON in a ``request`` field and the media as
    ``image`` and ``audio`` file parts.
    """
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _from_multipart(request, settings, model)
    try:
        body = model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise _validation(exc) from None
    image, audio = media_of(body)
    return (
        body,
        _b64(image, f"{prefix}image", settings),
        _b64(audio, f"{prefix}audio", settings),
    )


async def _from_multipart(
    request: Request, settings: Settings, model: type[Body]
) -> tuple[Body, bytes | None, bytes | None]:
    form = await request.form(max_files=2, max_fields=8)
    raw = form.get("request")
    if not isinstance(raw, str):
        raise BadInput("a multipart request needs a 'request' field holding the JSON body")
    try:
        body = model.model_validate_json(raw)
    except ValidationError as exc:
        raise _validation(exc) from None
    image = await _upload(form.get("image"), settings)
    audio = await _upload(form.get("audio"), settings)
    return body, image, audio


async def _upload(part: object, settings: Settings) -> bytes | None:
    if part is None:
        return None
    if not isinstance(part, UploadFile):
        raise BadInput("query image/audio must be uploaded as files", code="bad_query_media")
    data = await part.read(settings.max_query_media_bytes + 1)
    if len(data) > settings.max_query_media_bytes:
        raise BadInput("query media is larger than the limit", code="query_media_too_large")
    return data


def _b64(value: str | None, where: str, settings: Settings) -> bytes | None:
    if value is None:
        return None
    if len(value) > settings.max_query_media_bytes * 4 // 3 + 4:
        raise BadInput(f"{where} is larger than the limit", code="query_media_too_large")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(f"{where} is not valid base64", code="bad_query_media") from None


def _validation(exc: ValidationError) -> BadInput:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return BadInput(f"{where}: {first.get('msg')}" if where else str(first.get("msg")),
                    code="validation_error")  # fmt: skip


def build_query(
    body: SearchIn,
    image: bytes | None,
    audio: bytes | None,
    settings: Settings,
    fields: Mapping[str, str],
) -> Query:
    """Return the validated Query; ``fields`` are the declared metadata fields (name -> kind)."""
    if not 1 <= body.k <= settings.max_k:
        raise BadInput(f"k must be between 1 and {settings.max_k}", code="bad_k")
    text = (body.query.text or "").strip() or None
    if text and len(text) > settings.max_query_chars:
        raise BadInput(f"query.text is longer than {settings.max_query_chars} characters")
    return Query(
        collections=body.collection_names(),
        text=text,
        image=_image(image, settings),
        audio=_audio(audio, settings),
        k=body.k,
        where=build_filter(body.filters, body.collection_names(), fields),
        weights=dict(settings.channel_weights) if body.channels is None else body.channels,
        rrf_k=settings.rrf_k if body.rrf_k is None else body.rrf_k,
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
        return open_image(
            io.BytesIO(data), ExtractOptions(max_image_pixels=settings.max_image_pixels)
        )
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


def media_request_body(schema: str) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a route read by :func:`read_media_request`: the ``schema``
    model as JSON, or multipart with it as the ``request`` field beside image/audio files."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["request"],
                        "properties": {
                            "request": {"type": "string", "description": f"{schema} as JSON"},
                            "image": {"type": "string", "format": "binary"},
                            "audio": {"type": "string", "format": "binary"},
                        },
                    }
                },
            },
        }
    }
