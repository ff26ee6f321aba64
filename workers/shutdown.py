"""Bounded worker shutdown: SIGTERM or Ctrl-C ends every worker process within the grace.

Celery's warm shutdown waits for running tasks, and billiard's pool can then wait for good
(``_help_stuff_finish``: a pool process killed by a stray signal while holding the queue's
``SemLock``). So the main process arms a timer when the shutdown starts: after
``shutdown_grace_s`` it SIGKILLs its pool processes and leaves by ``os._exit`` (pool
processes also watch it and end with it, mmrag.parent_death). Tasks cut short keep their
leases until they expire; the sweeper then re-announces their documents.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Any

from billiard.process import active_children
from celery import signals

from mmrag.parent_death import exit_with_parent
from workers.app import app_settings

log = logging.getLogger(__name__)

_main: dict[str, float] = {}  # the main process's pid and grace, inherited by pool processes


@signals.worker_init.connect
def _remember_main(sender: Any, **_: Any) -> None:
    _main.update(pid=os.getpid(), grace=app_settings(sender.app).shutdown_grace_s)


@signals.worker_process_init.connect
def _die_with_main(**_: Any) -> None:
    if "pid" in _main:
        exit_with_parent(int(_main["pid"]), signal.SIGKILL, kernel=False)


@signals.worker_shutting_down.connect
def _arm_deadline(exitcode: int = 0, **_: Any) -> None:
    grace = _main.get("grace", 10.0)
    timer = threading.Timer(grace, _force_exit, args=(grace, exitcode or 0))
    timer.daemon = True
    timer.start()


def _force_exit(grace: float, exitcode: int) -> None:
    log.warning("worker still stopping after %.0fs (MMRAG_SHUTDOWN_GRACE_S); exiting now", grace)
    for child in active_children():
        with contextlib.suppress(OSError):
            os.kill(child.pid, signal.SIGKILL)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(exitcode)
