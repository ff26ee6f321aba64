"""The API's own state, composed in its lifespan: stores, retriever, answer backends, doorbell.

Nothing here belongs to a worker: the API opens what it serves from (``index/`` opens the
indexes) and rings the ingestion doorbell through the kernel's Protocol.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

from api.auth import KeyCheck
from generate.backends.registry import BackendRegistry
from generate.service import Answerer
from index.indexes import Indexes, open_indexes
from mmrag.blobs import BlobStore
from mmrag.catalog.db import Catalog
from mmrag.doorbell import Doorbell
from mmrag.intake import Intake
from mmrag.settings import Settings
from mmrag.supervisor import LocalWorker
from retrieve.search import Retriever


@dataclass
class ServiceState:
    """Everything a request may use; opened once per API process."""

    settings: Settings
    catalog: Catalog
    blobs: BlobStore
    indexes: Indexes
    doorbell: Doorbell
    local_worker: LocalWorker | None = None  # the worker `mmrag serve` supervises, if any
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(
        cls, settings: Settings, doorbell: Doorbell, local_worker: LocalWorker | None = None
    ) -> ServiceState:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            catalog=Catalog(settings.resolved_catalog_url),
            blobs=BlobStore(settings.blob_dir),
            indexes=open_indexes(settings),
            doorbell=doorbell,
            local_worker=local_worker,
        )

    @cached_property
    def key_check(self) -> KeyCheck:
        return KeyCheck(self.catalog)

    @cached_property
    def intake(self) -> Intake:
        return Intake(self.settings, self.catalog, self.blobs)

    @cached_property
    def retriever(self) -> Retriever:
        with self._lock:  # opens the stores on the first search, once
            return Retriever.from_settings(self.catalog, self.indexes, self.settings)

    def warm(self) -> None:
        """Load the query encoders and run a first query through each (at start, in the
        background; /readyz shows each space as loading until it is up)."""
        self.retriever.warm()

    @cached_property
    def answer_backends(self) -> BackendRegistry:
        with self._lock:
            return BackendRegistry(self.settings)

    @cached_property
    def answerer(self) -> Answerer:
        return Answerer(
            self.settings, self.catalog, self.blobs, self.retriever, self.answer_backends
        )

    def close(self) -> None:
        if "retriever" in self.__dict__:  # opened by a search
            self.retriever.close()
        self.doorbell.close()
        self.indexes.close()
        self.catalog.dispose()
