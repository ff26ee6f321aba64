"""A tune run as a job: its state and result live in the collection's settings (``tune``).

``start_tune`` records a queued run (Conflict while one runs), ``run_tune`` does the work,
records progress, the result or the error, and stores the winner as the collection's
fusion (``settings.fusion``), which searches that do not name a fusion then use. A run
whose progress stops for ``STALE_SECONDS`` (its process died) no longer blocks a new one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from index.spaces.base import Space
from mmrag.catalog import collections
from mmrag.catalog.db import Catalog
from mmrag.errors import Conflict, MmragError
from mmrag.settings import Settings
from retrieve.tune import TuneReport, require_passages, tune_collection
from retrieve.tune_probes import count_passages

STALE_SECONDS = 600.0
RUNNING = ("queued", "running")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def tune_state(catalog: Catalog, collection: str) -> dict[str, Any] | None:
    """Return the collection's last tune run (status, progress, result or error), or None."""
    with catalog.session() as session:
        state = collections.get_collection(session, collection).settings.get("tune")
    return dict(state) if isinstance(state, dict) else None


def start_tune(catalog: Catalog, collection: str) -> dict[str, Any]:
    """Record a queued tune run and return it; Conflict if one runs or passages are too few."""
    require_passages(collection, count_passages(catalog, collection))
    with catalog.session() as session:
        row = collections.get_collection(session, collection)
        last = row.settings.get("tune") or {}
        if last.get("status") in RUNNING and time.time() - last.get("beat", 0) < STALE_SECONDS:
            raise Conflict(
                f"a tune of {collection!r} is already running (job {last.get('id')})",
                code="tune_running",
            )
        state = {"id": uuid.uuid4().hex, "status": "queued", "created_at": _now()}
        collections.store_settings(session, collection, "tune", state | {"beat": time.time()})
    return state


def run_tune(
    catalog: Catalog,
    text_space: Callable[[], Space],
    settings: Settings,
    collection: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> TuneReport:
    """Tune ``collection``, store the winner, and record the run's outcome; re-raise errors."""
    record = _Recorder(catalog, collection, progress)
    record.update(status="running", started_at=_now())
    try:
        report = tune_collection(catalog, text_space, settings, collection, record.progress)
    except MmragError as exc:
        record.update(status="failed", error={"code": exc.code, "message": exc.message})
        raise
    except Exception as exc:
        record.update(status="failed", error={"code": "internal_error", "message": str(exc)})
        raise
    with catalog.session() as session:
        collections.store_settings(session, collection, "fusion", report.winner.choice())
    record.update(status="done", finished_at=_now(), result=report_json(report))
    return report


class _Recorder:
    """Writes a run's state into the collection's settings, progress at most once a second."""

    def __init__(
        self, catalog: Catalog, collection: str, echo: Callable[[str, int, int], None] | None
    ) -> None:
        self.catalog, self.collection, self.echo = catalog, collection, echo
        self.last = 0.0
        self.phase = ""

    def progress(self, phase: str, done: int, total: int) -> None:
        if self.echo is not None:
            self.echo(phase, done, total)
        if phase != self.phase or done == total or time.time() - self.last >= 1.0:
            self.phase = phase
            self.update(phase=phase, done=done, total=total)

    def update(self, **changes: Any) -> None:
        self.last = time.time()
        with self.catalog.session() as session:
            state = collections.get_collection(session, self.collection).settings.get("tune")
            merged = dict(state or {}) | changes | {"beat": self.last}
            collections.store_settings(session, self.collection, "tune", merged)


def report_json(report: TuneReport) -> dict[str, Any]:
    """Return the report as JSON: every candidate's figures, winner, default, best single."""
    rows = [
        {"name": c.name, **c.choice(), **vars(s), "margin": report.margin(c)}
        for c, s in report.rows
    ]
    return {
        "queries": report.queries,
        "passages": report.passages,
        "candidates": rows,
        "winner": report.winner.name,
        "default": report.default.name,
        "best_single": report.best_single()[0].name,
        "chosen": report.winner.choice(),
    }
