"""One place that turns exceptions into ``{"error": {"code", "message"}}`` responses."""

from __future__ import annotations

import errno
import logging
import re
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.schemas import ErrorOut
from mmrag.errors import MmragError

log = logging.getLogger(__name__)


# Documented on every operation (OpenAPI), so clients and schema checks know the shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        400: "Unparseable body (multipart, form)",
        401: "Missing, unknown or revoked API key",
        403: "The API key's grants do not cover this, or another site's page sent it",
        404: "Not found",
        408: "The request body stalled (body_timeout)",
        409: "Conflict",
        413: "Payload too large",
        415: "Unsupported media type",
        422: "Invalid request",
        507: "The data volume is nearly full (disk_full)",
    }.items()
}


# How a full disk reads when it comes from a library that does not raise OSError(ENOSPC):
# tantivy ("os error 28"), SQLite through SQLAlchemy, PostgreSQL (SQLSTATE 53100).
_DISK_FULL_TEXT = re.compile(
    r"no space left on device|os error 28|database or disk is full|could not extend file",
    re.IGNORECASE,
)


def is_disk_full(exc: BaseException) -> bool:
    """Return whether ``exc`` or anything that caused it is a full disk."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(current, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if _DISK_FULL_TEXT.search(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(MmragError)
    async def domain_error(_: Request, exc: MmragError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return JSONResponse(
            error_body("validation_error", message, details=details), status_code=422
        )

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # Starlette and FastAPI raise 400 for bodies they cannot parse (multipart, forms).
        code = {
            400: "bad_request", 404: "not_found", 405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, f"http_{exc.status_code}")  # fmt: skip
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_disk_full(exc):  # anywhere in a request: blobs, catalog, indexes
            log.error("disk full on %s %s: %s", request.method, request.url.path, exc)
            message = "no space left on the data volume: free space and send the request again"
            return JSONResponse(error_body("disk_full", message), status_code=507)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)
