"""The Celery app: queues ``extract``, ``embed``, ``index``; late acks; catalog leases.

Run a worker with ``mmrag worker`` (or ``celery -A workers.app worker -Q extract,embed,index``).
Nothing is built at import: ``mmrag worker`` builds the app from its settings, and
``workers.app.app`` (what ``celery -A`` looks up) is built on first access.
"""

from __future__ import annotations

import warnings
from functools import cache

from celery import Celery
from celery.exceptions import SecurityWarning
from kombu import Exchange, Queue

from mmrag.domain import Stage
from mmrag.logs import REQUEST_ID
from mmrag.settings import Settings, get_settings
from workers import broker

TASK_NAMES = {stage: f"mmrag.{stage.value}" for stage in Stage}


def create_app(settings: Settings) -> Celery:
    """Return a Celery app configured from ``settings``."""
    broker.register(settings.broker_polling_interval)
    if settings.embedded_broker:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    _accept_root_workers()
    included = ["workers.tasks", "workers.shutdown"]
    app = Celery("mmrag", broker=settings.resolved_broker_url, include=included)
    app.conf.update(
        task_queues=[
            Queue(stage.value, Exchange(stage.value), routing_key=stage.value) for stage in Stage
        ],
        task_default_queue=Stage.EXTRACT.value,
        task_routes={name: {"queue": stage.value} for stage, name in TASK_NAMES.items()},
        accept_content=["json"],  # never pickle: what makes a root worker safe (see below)
        task_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=4,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(settings),
        worker_concurrency=settings.worker_concurrency,
        mmrag_settings=settings,  # what tasks open their per-process Runtime from
    )
    return app


def _accept_root_workers() -> None:
    """Silence Celery's warning to workers running as root (containers, CI).

    It warns because a root worker that accepted pickled messages would run a sender's code
    as root. This app accepts JSON only, so the warning does not apply; printed on every
    start, it told users of a risk they do not run and could not act on.
    """
    warnings.filterwarnings(
        "ignore", message="You're running the worker with superuser", category=SecurityWarning
    )


def app_settings(app: Celery) -> Settings:
    """Return the settings ``app`` was built from."""
    settings: Settings = app.conf.mmrag_settings
    return settings


def _transport_options(settings: Settings) -> dict[str, object]:
    if settings.embedded_broker:
        return {"connect_args": {"timeout": 30}}
    # Leases and the sweeper recover lost work; redelivery only has to beat a long task.
    return {"visibility_timeout": 3600}


def send_stage(app: Celery, stage: Stage, document_id: str) -> None:
    """Ring the doorbell: ask a worker to run ``stage`` for ``document_id``.

    The request id of the API call (or task) that caused it travels as a message header, so
    the worker's log lines for this document name the request that started it.
    """
    request_id = REQUEST_ID.get()
    headers = {"request_id": request_id} if request_id else None
    app.send_task(TASK_NAMES[stage], args=[document_id], queue=stage.value, headers=headers)


@cache
def _default_app() -> Celery:
    return create_app(get_settings())


def __getattr__(name: str) -> Celery:
    """Build ``app`` on first access (module attribute hook, PEP 562), never at import."""
    if name == "app":
        return _default_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
