"""Liveness and readiness: which stores, spaces and broker are up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, text

from api.deps import CeleryDep, RuntimeDep
from ingest.av import speech_options
from ingest.base import ExtractOptions
from ingest.ocr import ocr_available, ocr_unavailable_reason
from ingest.speech import speech_unavailable_reason
from mmrag.catalog.models import WorkerRow, utcnow

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(rt: RuntimeDep, celery: CeleryDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    workers = 0
    try:
        with rt.catalog.session() as session:
            session.execute(text("SELECT 1"))
            since = utcnow() - timedelta(seconds=3 * rt.settings.sweep_interval_seconds + 5)
            workers = (
                session.scalar(
                    select(func.count()).select_from(WorkerRow).where(WorkerRow.last_seen > since)
                )
                or 0
            )
        checks["catalog"] = {"up": True, "backend": rt.catalog.engine.dialect.name}
    except Exception as exc:
        checks["catalog"] = {"up": False, "reason": str(exc)[:200]}
    checks["blobs"] = {"up": rt.blobs.writable()}
    checks["broker"] = _broker(celery)
    try:
        checks["bm25"] = {"up": True, "segments": rt.bm25.count()}
    except Exception as exc:
        checks["bm25"] = {"up": False, "reason": str(exc)[:200]}
    ocr_reason = ocr_unavailable_reason()
    checks["ocr"] = {"up": ocr_available(), **({"reason": ocr_reason} if ocr_reason else {})}
    checks["speech"] = _speech(rt)
    checks["spaces"] = _spaces(rt)
    checks["vectors"] = {"up": True, "backend": rt.settings.vector_store}
    checks["workers"] = {"live": workers}
    ready = all(checks[name]["up"] for name in ("catalog", "blobs", "broker", "bm25"))
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


def _speech(rt: RuntimeDep) -> dict[str, Any]:
    """Whether workers can transcribe speech (model resolvable; loaded by workers, not here)."""
    if not rt.settings.speech:
        return {"up": False, "reason": "speech transcription is off (MMRAG_SPEECH)"}
    options = speech_options(ExtractOptions.from_settings(rt.settings))
    reason = speech_unavailable_reason(options)
    return {"up": reason is None, "model": rt.settings.speech_model,
            **({"reason": reason} if reason else {})}  # fmt: skip


def _spaces(rt: RuntimeDep) -> dict[str, Any]:
    """Each configured space: loaded (with dim and device), disabled (why), or still loading."""
    out: dict[str, Any] = {}
    for name in rt.settings.spaces:
        status = rt.spaces.peek(name)
        if status is None:
            out[name] = {"up": False, "state": "loading"}
        elif status.enabled:
            out[name] = {"up": True, "model": status.model, "dim": status.dim,
                         "device": status.device}  # fmt: skip
        else:
            out[name] = {"up": False, "state": "disabled", "reason": status.reason}
    return out


def _broker(celery: CeleryDep) -> dict[str, Any]:
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"up": True, "transport": conn.transport_cls}
    except Exception as exc:
        return {"up": False, "reason": str(exc)[:200]}
