"""Make a child process end when its parent dies, even by SIGKILL.

A local worker started by ``mmrag serve`` or ``mmrag ingest``, and the pool processes of any
worker, must not outlive the process that started them: nobody would stop them, and they
would keep consuming the broker with a dead parent's settings. On Linux the kernel does it
(``prctl(PR_SET_PDEATHSIG)``: the signal arrives as the parent exits); elsewhere a daemon
thread polls the parent id once a second.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def exit_with_parent(parent_pid: int, sig: signal.Signals, *, kernel: bool = True) -> None:
    """Deliver ``sig`` to this process when ``parent_pid`` (its parent) exits.

    Called first thing in the child; a parent that already died gets the signal sent at once.
    The kernel's signal follows the parent *thread* that forked this process, so it suits
    children started from a thread that lives as long as they should; ``kernel=False``
    watches the parent process instead (billiard forks replacement pool processes from a
    thread that stops before the pool's last tasks finish).
    """
    if not (kernel and _set_pdeathsig(sig)):
        threading.Thread(
            target=_watch_parent, args=(parent_pid, sig), name="parent-watch", daemon=True
        ).start()
    if os.getppid() != parent_pid:  # it died before the signal was armed
        os.kill(os.getpid(), sig)


def _set_pdeathsig(sig: signal.Signals) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, sig: signal.Signals) -> None:
    stop = threading.Event()
    while not stop.wait(1.0):
        if os.getppid() != parent_pid:
            log.warning("parent process %d is gone; stopping", parent_pid)
            os.kill(os.getpid(), sig)
            return
