"""The ingestion doorbell: how an entry point asks workers to run a stage for a document.

The catalog is the truth (DESIGN.md): a ring only says "look at this document now", and a
lost ring is repaired by the sweeper. The kernel defines the Protocol; ``workers/`` holds
the Celery implementation. The API opens it by name, as Celery loads its task modules, so
that ``api/`` never imports ``workers/``.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from mmrag.domain import Stage
from mmrag.settings import Settings

IMPLEMENTATION = "workers.doorbell:CeleryDoorbell"


class Doorbell(Protocol):
    def ring(self, stage: Stage, document_id: str) -> None:
        """Ask a worker to run ``stage`` for ``document_id``; raise if the broker is down."""
        ...

    def status(self) -> dict[str, object]:
        """Return ``{"up": True, "transport": ...}`` or ``{"up": False, "reason": ...}``."""
        ...

    def queue_depths(self) -> dict[str, int]:
        """Return the messages waiting per stage queue; raise if the broker is down."""
        ...

    def close(self) -> None: ...


def open_doorbell(settings: Settings, implementation: str = IMPLEMENTATION) -> Doorbell:
    """Return the doorbell named ``module:Class``, built from ``settings``."""
    module, _, name = implementation.partition(":")
    factory = getattr(importlib.import_module(module), name)
    doorbell: Doorbell = factory(settings)
    return doorbell
