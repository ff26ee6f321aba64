"""Read a search request from HTTP: JSON with base64 media, or multipart with uploaded files."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from mmrag.errors import BadInput
from mmrag.settings import Settings
from retrieve.request import SearchIn

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
