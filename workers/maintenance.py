"""The sweeper that re-announces stranded work and finishes interrupted deletions."""

from __future__ import annotations

import logging
import os
import threading

from index.removal import purge_deleted
from mmrag.catalog import heartbeats
from mmrag.doorbell import Doorbell
from mmrag.intake import reannounce_strays
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def sweep(rt: Runtime, doorbell: Doorbell) -> int:
    """Re-send tasks for stranded documents, finish interrupted deletions and remove
    abandoned temp files; return how many documents were re-sent."""
    resent = reannounce_strays(rt.catalog, doorbell, rt.settings.requeue_after_seconds)
    purge_deleted(rt.catalog, rt.blobs, rt.indexes)
    rt.blobs.sweep_tmp(rt.settings.tmp_blob_max_age_s)
    return resent


def worker_id() -> str:
    return heartbeats.owner_id(os.getpid())


def heartbeat(rt: Runtime, owner: str) -> None:
    with rt.catalog.session() as session:
        heartbeats.beat(session, owner)


class Sweeper(threading.Thread):
    """Background thread: heartbeat this worker and sweep every ``interval`` seconds."""

    def __init__(self, rt: Runtime, doorbell: Doorbell, interval: float) -> None:
        super().__init__(name="mmrag-sweeper", daemon=True)
        self.rt, self.doorbell, self.interval = rt, doorbell, interval
        self.stopped = threading.Event()
        self.owner = worker_id()

    def run(self) -> None:
        while True:
            try:
                heartbeat(self.rt, self.owner)
                sweep(self.rt, self.doorbell)
            except Exception:  # the sweeper must outlive a broker or database hiccup
                log.exception("sweep failed; trying again in %.0fs", self.interval)
            if self.stopped.wait(self.interval):
                return

    def stop(self) -> None:
        """Stop sweeping and withdraw this worker's heartbeat, so it no longer counts as live."""
        self.stopped.set()
        with self.rt.catalog.session() as session:
            heartbeats.withdraw(session, self.owner)
