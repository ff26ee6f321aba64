"""Liveness and readiness: which stores, spaces and broker are up."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import StateDep
from api.state import ServiceState
from ingest.av import speech_options
from ingest.base import ExtractOptions
from ingest.ocr import ocr_available, ocr_unavailable_reason
from ingest.speech import speech_unavailable_reason
from mmrag.catalog import heartbeats
from mmrag.catalog.db import ping
from mmrag.deployment import impossible_modes

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: the checks say which part is down and why."}},
)
def readyz(rt: StateDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    workers, waiting = 0, 0
    try:
        with rt.catalog.session() as session:
            ping(session)
            workers = heartbeats.live_workers(session, rt.settings.sweep_interval_seconds)
            waiting = heartbeats.waiting_documents(session)
        checks["catalog"] = {"up": True, "backend": rt.catalog.engine.dialect.name}
    except Exception as exc:
        checks["catalog"] = {"up": False, "reason": str(exc)[:200]}
    checks["blobs"] = {"up": rt.blobs.writable()}
    checks["broker"] = rt.doorbell.status()
    checks.update(rt.indexes.probe())
    ocr_reason = ocr_unavailable_reason()
    checks["ocr"] = {"up": ocr_available(), **({"reason": ocr_reason} if ocr_reason else {})}
    checks["speech"] = _speech(rt)
    checks["spaces"] = spaces_report(rt)
    reranker = rt.retriever.reranker  # optional: reported, never required for readiness
    checks["rerank"] = reranker.status() if reranker else {"up": False, "state": "off"}
    checks["workers"] = _workers(rt, workers, waiting)
    checks["deployment"] = _deployment(rt)
    required = ("catalog", "blobs", "broker", "bm25", "vectors", "deployment", "workers")
    ready = all(checks[name]["up"] for name in required)
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


def _workers(rt: ServiceState, live: int, waiting: int) -> dict[str, Any]:
    """Live workers (heartbeats), documents waiting for one, and the local worker of serve.

    Not ready while documents wait and no worker is alive: nothing would ever process them.
    """
    out: dict[str, Any] = {"up": live > 0 or waiting == 0, "live": live, "waiting": waiting}
    if not out["up"]:
        out["reason"] = f"{waiting} documents wait and no worker is alive"
    if rt.local_worker is not None:
        state = asdict(rt.local_worker.state())
        at = state["last_exit_at"]
        out["local"] = {**state, "last_exit_at": at.isoformat() if at else None}
    return out


def _deployment(rt: ServiceState) -> dict[str, Any]:
    """Whether the settings describe a deployment that can work (see mmrag.deployment)."""
    reasons = impossible_modes(rt.settings)
    return {"up": not reasons, **({"reason": "; ".join(reasons)} if reasons else {})}


def _speech(rt: ServiceState) -> dict[str, Any]:
    """Whether workers can transcribe speech (model resolvable; loaded by workers, not here)."""
    if not rt.settings.speech:
        return {"up": False, "reason": "speech transcription is off (MMRAG_SPEECH)"}
    options = speech_options(ExtractOptions.from_settings(rt.settings))
    reason = speech_unavailable_reason(options)
    return {"up": reason is None, "model": rt.settings.speech_model,
            **({"reason": reason} if reason else {})}  # fmt: skip


def spaces_report(rt: ServiceState) -> dict[str, Any]:
    """Each configured space: loaded (with dim and device), disabled (why), loading, or
    downloading its weights (with the bytes received so far)."""
    out: dict[str, Any] = {}
    for name in rt.settings.spaces:
        status = rt.indexes.spaces.peek(name)
        if status is None:
            received = rt.indexes.spaces.download_progress(name)
            out[name] = (
                {"up": False, "state": "loading"} if received is None
                else {"up": False, "state": "downloading", "bytes": received}
            )  # fmt: skip
        elif status.enabled:
            out[name] = {"up": True, "model": status.model, "dim": status.dim,
                         "device": status.device}  # fmt: skip
        else:
            out[name] = {"up": False, "state": "disabled", "reason": status.reason}
    return out
