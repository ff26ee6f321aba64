"""Thread counts from the cores a process may use, set in the thread that does the work.

torch and FAISS share one OpenMP runtime here, and OpenMP's thread count is a per-thread
setting: a count set in the main thread at start-up does not reach a request thread or an
encoder loop (each new thread starts from the default, every core). So the threads that
work set their own: a search its FAISS threads (restored afterwards), the encoder loops
their torch threads, a worker process's task thread its share of the cores.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def usable_cores() -> int:
    """Return how many cores this process may run on (its CPU affinity, else the count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def share_of_cores(requested: int, processes: int = 1) -> int:
    """Return ``requested`` threads, or (0) this process's share when ``processes`` share it."""
    return requested if requested > 0 else max(1, usable_cores() // max(1, processes))


def set_torch_threads(threads: int) -> None:
    """Set torch's intra-op threads for the calling thread (0: leave the default)."""
    if threads > 0:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


@contextmanager
def faiss_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` FAISS (OpenMP) threads in the calling thread, then
    restore the count: the same thread may encode with torch next (same OpenMP runtime)."""
    if threads <= 0:
        yield
        return
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)
