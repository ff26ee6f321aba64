"""Thread counts: a search's FAISS threads are set for it and restored; shares of the cores."""

from __future__ import annotations

import faiss

from index.threads import faiss_threads, share_of_cores, usable_cores


def test_faiss_threads_apply_inside_the_block_and_are_restored() -> None:
    before = faiss.omp_get_max_threads()
    with faiss_threads(1):
        assert faiss.omp_get_max_threads() == 1
    assert faiss.omp_get_max_threads() == before
    with faiss_threads(0):  # 0 leaves FAISS's own default alone
        assert faiss.omp_get_max_threads() == before


def test_worker_processes_split_the_cores() -> None:
    cores = usable_cores()
    assert share_of_cores(0, processes=1) == cores
    assert share_of_cores(0, processes=cores * 4) == 1  # never below one thread
    assert share_of_cores(0, processes=2) == max(1, cores // 2)
    assert share_of_cores(3, processes=2) == 3  # an explicit setting wins
