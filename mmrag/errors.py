"""Domain exceptions with stable codes.

Stages raise these; api/ maps them to HTTP status + ``{"error": {"code", "message"}}`` in one
handler; workers turn a :class:`BadInput` into a failed document (no retry) and retry a
:class:`TransientError` with backoff.
"""

from __future__ import annotations

import errno


class MmragError(Exception):
    """Base error: ``code`` is machine-readable and stable, ``status`` the HTTP status."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadInput(MmragError):
    """The input itself is wrong; retrying cannot help."""

    status = 422
    code = "bad_input"


class UnsupportedMediaType(BadInput):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(BadInput):
    status = 413
    code = "payload_too_large"


class Unauthorized(MmragError):
    """No API key, or one that is unknown or revoked."""

    status = 401
    code = "unauthorized"


class Forbidden(MmragError):
    """A valid key whose grants do not cover the action."""

    status = 403
    code = "forbidden"


class NotFound(MmragError):
    status = 404
    code = "not_found"


class Conflict(MmragError):
    status = 409
    code = "conflict"


class InsufficientStorage(MmragError):
    """The data volume is (nearly) full: nothing new is accepted until space is freed."""

    status = 507
    code = "disk_full"


class TransientError(MmragError):
    """A dependency is briefly unavailable; the work should be retried later."""

    status = 503
    code = "unavailable"


def from_engine(engine: str, exc: BaseException) -> MmragError:
    """Return the kernel error an engine's failure means: a full disk, or a brief outage.

    Stores call this on the errors their engine raises when it is unreachable, locked or
    out of space, so callers handle :class:`InsufficientStorage` and :class:`TransientError`
    and never the engine's own exception types.
    """
    if _disk_full(exc):
        return InsufficientStorage(f"{engine}: no space left on the data volume ({exc})")
    return TransientError(f"{engine} unavailable: {type(exc).__name__}: {exc}")


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return "disk is full" in str(exc)  # SQLite's SQLITE_FULL, through any wrapper
