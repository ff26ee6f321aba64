"""The Celery doorbell: ring a stage queue, probe the broker, count waiting messages."""

from __future__ import annotations

from functools import cached_property

from celery import Celery

from mmrag.domain import Stage
from mmrag.settings import Settings
from workers.app import create_app, send_stage


class CeleryDoorbell:
    """:class:`mmrag.doorbell.Doorbell` over the configured Celery broker."""

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.settings = settings
        if app is not None:
            self.__dict__["app"] = app

    @cached_property
    def app(self) -> Celery:
        return create_app(self.settings)

    def ring(self, stage: Stage, document_id: str) -> None:
        send_stage(self.app, stage, document_id)

    def status(self) -> dict[str, object]:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            return {"up": True, "transport": conn.transport_cls}
        except Exception as exc:  # any broker failure is "down", with its reason
            return {"up": False, "reason": str(exc)[:200]}

    def queue_depths(self) -> dict[str, int]:
        depths: dict[str, int] = {}
        with self.app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            channel = conn.default_channel
            for stage in Stage:
                _, count, _ = channel.queue_declare(queue=stage.value, passive=True)
                depths[stage.value] = count
        return depths

    def close(self) -> None:
        app = self.__dict__.get("app")
        if app is not None:
            app.close()
