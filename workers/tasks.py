"""Celery tasks: thin wrappers that run one pipeline stage and ring the next doorbell."""

from __future__ import annotations

from typing import Any

from celery import Task, signals

from mmrag.domain import Stage
from mmrag.logs import REQUEST_ID
from workers.app import TASK_NAMES, app, send_stage
from workers.maintenance import Sweeper, worker_id
from workers.pipeline import run_stage
from workers.runtime import runtime


def _run(task: Task, document_id: str, stage: Stage) -> None:
    token = REQUEST_ID.set(task.request.get("request_id"))
    try:
        _run_stage(task, document_id, stage)
    finally:
        REQUEST_ID.reset(token)


def _run_stage(task: Task, document_id: str, stage: Stage) -> None:
    outcome = run_stage(runtime(), document_id, stage, owner=f"{worker_id()}:{task.request.id}")
    if outcome.next_stage is not None:
        send_stage(app, outcome.next_stage, document_id)
    elif outcome.retry_in is not None:
        # The lease was released; the retry claims it again (or the sweeper re-sends it).
        raise task.retry(countdown=outcome.retry_in, max_retries=None)


@app.task(bind=True, name=TASK_NAMES[Stage.EXTRACT])
def extract(self: Task, document_id: str) -> None:
    _run(self, document_id, Stage.EXTRACT)


@app.task(bind=True, name=TASK_NAMES[Stage.EMBED])
def embed(self: Task, document_id: str) -> None:
    _run(self, document_id, Stage.EMBED)


@app.task(bind=True, name=TASK_NAMES[Stage.INDEX])
def index(self: Task, document_id: str) -> None:
    _run(self, document_id, Stage.INDEX)


_sweeper: Sweeper | None = None


@signals.worker_ready.connect
def _start_sweeper(**_: Any) -> None:
    global _sweeper
    rt = runtime()
    _sweeper = Sweeper(
        rt, lambda stage, doc: send_stage(app, stage, doc), rt.settings.sweep_interval_seconds
    )
    _sweeper.start()


@signals.worker_shutdown.connect
def _stop_sweeper(**_: Any) -> None:
    if _sweeper is not None:
        _sweeper.stop()
