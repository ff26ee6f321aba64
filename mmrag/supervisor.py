"""The local worker that ``mmrag serve`` (and ``mmrag ingest``) run as a supervised child.

The child runs in its own session, so a Ctrl-C or a SIGTERM to the parent's process group
reaches only the parent, which stops the worker once: SIGTERM, then SIGKILL of the worker's
whole group when ``shutdown_grace_s`` has passed. Its pool processes never get a stray
SIGTERM of their own, which could kill one while it holds the pool's queue lock (billiard's
shutdown then waits on that lock for good). A child that dies is started again after a
backoff (1 s, doubling up to ``worker_restart_max_backoff_s``; back to 1 s once a run lasted
a minute), and its heartbeat is withdrawn at once so /readyz no longer counts it. The child
gets SIGTERM from the kernel if this process dies, even by SIGKILL (mmrag.parent_death).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from mmrag.catalog import heartbeats
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import utcnow
from mmrag.settings import Settings

log = logging.getLogger(__name__)

STABLE_AFTER_S = 60.0  # a run this long resets the backoff


@dataclass(frozen=True)
class WorkerState:
    """What /readyz shows of the local worker."""

    alive: bool
    pid: int | None
    restarts: int
    last_exit: int | None  # exit status; negative: killed by that signal
    last_exit_at: datetime | None


class LocalWorker:
    """Runs ``mmrag worker`` as a child, restarts it when it dies, stops it within the grace."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None
        self._restarts = 0
        self._last_exit: int | None = None
        self._last_exit_at: datetime | None = None
        self._deadline: float | None = None
        self._thread = threading.Thread(target=self._supervise, name="local-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def state(self) -> WorkerState:
        child = self._child
        alive = child is not None and child.poll() is None
        return WorkerState(
            alive, child.pid if alive and child else None, self._restarts, self._last_exit,
            self._last_exit_at,
        )  # fmt: skip

    def begin_stop(self) -> None:
        """Restart no more and ask the child to stop (SIGTERM); the grace starts now."""
        with self._lock:
            if self._deadline is not None:  # a second signal: the stop is under way
                return
            self._deadline = time.monotonic() + self.settings.shutdown_grace_s
            self._stopping.set()
            if self._child is not None and self._child.poll() is None:
                self._child.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """Stop the child; past the grace, SIGKILL its whole process group (pool included)."""
        self.begin_stop()
        child, deadline = self._child, self._deadline or time.monotonic()
        if child is not None:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("local worker still running after the grace; killing it")
            _kill_group(child.pid)  # pool processes left behind by a forced exit, too
        self._thread.join(timeout=5)
        log.info("local worker stopped (%s)", child.returncode if child else "never started")

    def _supervise(self) -> None:
        backoff = 1.0
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                self._child = child = self._spawn()
            began = time.monotonic()
            status = child.wait()
            _kill_group(child.pid)  # pool processes that outlived their main process
            self._record_exit(child.pid, status)
            if self._stopping.is_set():
                return
            backoff = 1.0 if time.monotonic() - began > STABLE_AFTER_S else backoff
            log.warning("local worker %d exited (%d); restarting in %.0fs", child.pid, status,
                        backoff)  # fmt: skip
            if self._stopping.wait(backoff):
                return
            self._restarts += 1
            backoff = min(backoff * 2, self.settings.worker_restart_max_backoff_s)

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "mmrag", "worker", "--loglevel=WARNING"]
        command += ["--data-dir", str(self.settings.data_dir), "--parent-pid", str(os.getpid())]
        return subprocess.Popen(command, env=dict(os.environ), start_new_session=True)

    def _record_exit(self, pid: int, status: int) -> None:
        self._last_exit, self._last_exit_at = status, utcnow()
        catalog = Catalog(self.settings.resolved_catalog_url, run_migrations=False)
        try:
            with catalog.session() as session:
                heartbeats.withdraw(session, heartbeats.owner_id(pid))
        except Exception:  # the catalog may be what killed it; the heartbeat then expires
            log.exception("could not withdraw the heartbeat of worker %d", pid)
        finally:
            catalog.dispose()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
