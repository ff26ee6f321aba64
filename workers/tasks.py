"""Celery tasks: thin wrappers that run one pipeline stage and ring the next doorbell."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task, signals

from mmrag.domain import Stage
from mmrag.logs import REQUEST_ID
from workers.app import TASK_NAMES, app_settings, send_stage
from workers.doorbell import CeleryDoorbell
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
    rt = runtime(app_settings(task.app))
    outcome = run_stage(rt, document_id, stage, owner=f"{worker_id()}:{task.request.id}")
    if outcome.next_stage is not None:
        send_stage(task.app, outcome.next_stage, document_id)
    elif outcome.retry_in is not None:
        # The lease was released; the retry claims it again (or the sweeper re-sends it).
        raise task.retry(countdown=outcome.retry_in, max_retries=None)


@shared_task(bind=True, name=TASK_NAMES[Stage.EXTRACT])
def extract(self: Task, document_id: str) -> None:
    _run(self, document_id, Stage.EXTRACT)


@shared_task(bind=True, name=TASK_NAMES[Stage.EMBED])
def embed(self: Task, document_id: str) -> None:
    _run(self, document_id, Stage.EMBED)


@shared_task(bind=True, name=TASK_NAMES[Stage.INDEX])
def index(self: Task, document_id: str) -> None:
    _run(self, document_id, Stage.INDEX)


_sweeper: Sweeper | None = None


@signals.worker_ready.connect
def _start_sweeper(sender: Any, **_: Any) -> None:
    global _sweeper
    app = sender.app  # the sender is the worker's consumer
    rt = runtime(app_settings(app))
    _sweeper = Sweeper(rt, CeleryDoorbell(rt.settings, app), rt.settings.sweep_interval_seconds)
    _sweeper.start()


@signals.worker_shutdown.connect
def _stop_sweeper(**_: Any) -> None:
    if _sweeper is not None:
        _sweeper.stop()
