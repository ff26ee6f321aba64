"""``mmrag serve`` and ``mmrag worker`` as processes: what an earlier run left is announced at
start, a dead local worker is restarted (and /readyz says so), SIGTERM to a process group ends
every process of it, the interrupted job finishes after a restart, and a SIGKILLed serve
leaves no worker behind.

Cost: two ``serve`` starts with one worker restart, and one ``mmrag worker`` start; each
processes a handful of two-page PDFs with the text space only. Not measured on a quiet
machine: 95 s and 33 s on the shared 2-core machine at a load average of 5-7 (over the
suite's budget)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mmrag.catalog import collections, jobs
from mmrag.intake import Intake
from mmrag.settings import Settings
from tests.conftest import make_settings, settings_env
from tests.e2e.conftest import start_serve
from tests.media import write_pdf
from workers.runtime import Runtime

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc"),
]


PATIENCE = 240  # seconds before a wait fails: generous, the machine may be busy


def children(pid: int) -> set[int]:
    """Return the ids of the live child processes of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the thread or process ended
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_gone(pids: set[int], timeout: float = 60) -> None:
    """Fail unless every process in ``pids`` ends within ``timeout`` (a generous bound)."""
    deadline = time.monotonic() + timeout
    while left := {pid for pid in pids if alive(pid)}:
        assert time.monotonic() < deadline, f"still running: {sorted(left)}"
        time.sleep(0.2)


def wait_job(base: str, job_id: str, timeout: float = PATIENCE) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while (job := httpx.get(f"{base}/v1/jobs/{job_id}").json())["status"] != "done":
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job


def readyz(base: str) -> httpx.Response:
    return httpx.get(f"{base}/readyz", timeout=10)


def queue_unannounced(settings: Settings, files: dict[str, bytes]) -> str:
    """What a serve killed mid-upload leaves: committed queued documents that nobody rang
    for; return their job's id."""
    rt = Runtime.open(settings)
    with rt.catalog.session() as session:
        collection_id = collections.ensure_collection(session, "c").id
        job_id = jobs.create_job(session, collection_id).id
    intake = Intake(settings, rt.catalog, rt.blobs)
    for name, content in files.items():
        intake.accept(io.BytesIO(content), collection_id=collection_id, job_id=job_id,
                      filename=name)  # fmt: skip
    rt.close()
    return job_id


def pdfs(tmp_path: Path, count: int) -> dict[str, bytes]:
    return {
        f"d{i}.pdf": write_pdf(
            tmp_path / f"d{i}.pdf", [f"{i} page {p}" for p in range(2)]
        ).read_bytes()
        for i in range(count)
    }


def test_serve_announces_left_work_restarts_its_worker_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    # The sweeper alone would re-announce left documents only after ten minutes.
    settings = make_settings(
        tmp_path / "data",
        requeue_after_seconds=600.0,
        shutdown_grace_s=2.0,
        worker_nice=0,
        spaces=["text"],
    )
    left_job = queue_unannounced(settings, {"a.txt": b"the grey heron waits"})
    stale, fresh = settings.blob_dir / "tmp" / "stale", settings.blob_dir / "tmp" / "fresh"
    stale.write_bytes(b"x" * 1000)
    fresh.write_bytes(b"y")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))

    proc, base = start_serve(settings)
    try:
        listed = httpx.get(f"{base}/v1/collections/c/jobs").json()["jobs"]
        assert [j["id"] for j in listed] == [left_job]  # the lost upload's job is found
        assert wait_job(base, left_job)["done"] == 1
        assert not stale.exists() and fresh.exists()

        local = readyz(base).json()["checks"]["workers"]["local"]
        assert local["alive"] and local["restarts"] == 0 and local["last_exit"] is None
        first, pool = local["pid"], children(local["pid"])
        os.kill(first, signal.SIGKILL)  # as the OOM killer would
        up = httpx.post(f"{base}/v1/collections/c/documents", files={"files": ("b.txt", b"ibis")})
        statuses: set[int] = set()
        while (ready := readyz(base)).status_code != 200 or not statuses:
            statuses.add(ready.status_code)
            time.sleep(0.1)
        assert 503 in statuses  # documents waited and no worker was alive
        local = ready.json()["checks"]["workers"]["local"]
        assert local["restarts"] == 1 and local["last_exit"] == -signal.SIGKILL
        assert local["alive"] and local["pid"] != first
        assert wait_job(base, up.json()["job_id"])["done"] == 1
        wait_gone(pool | {first})  # the dead worker's pool processes went with it

        files = [("files", (name, data)) for name, data in pdfs(tmp_path, 6).items()]
        job_id = httpx.post(f"{base}/v1/collections/c/documents", files=files).json()["job_id"]
        while httpx.get(f"{base}/v1/jobs/{job_id}").json()["done"] < 1:
            time.sleep(0.05)
        worker = readyz(base).json()["checks"]["workers"]["local"]["pid"]
        processes = {proc.pid, worker} | children(worker)
        os.killpg(proc.pid, signal.SIGTERM)  # what systemd, docker or a terminal send
        proc.wait(timeout=60)
        wait_gone(processes)
    finally:
        proc.kill_group()

    proc, base = start_serve(settings)
    try:
        job = wait_job(base, job_id)
        assert (job["done"], job["failed"]) == (len(files), 0)
        worker = readyz(base).json()["checks"]["workers"]["local"]["pid"]
        processes = {worker} | children(worker)
        proc.kill()  # SIGKILL to serve alone: its worker must not outlive it
        proc.wait()
        wait_gone(processes)
    finally:
        proc.kill_group()


def test_sigterm_to_a_workers_group_mid_job_ends_every_process(tmp_path: Path) -> None:
    """Before MMRAG_SHUTDOWN_GRACE_S the worker and a pool process were still running 90 s
    after this SIGTERM (billiard's pool shutdown waiting on its queue lock)."""
    settings = make_settings(
        tmp_path / "data", shutdown_grace_s=2.0, worker_nice=0, spaces=["text"]
    )
    job_id = queue_unannounced(settings, pdfs(tmp_path, 6))  # the worker's sweeper rings

    def report() -> jobs.JobReport:
        rt = Runtime.open(settings)
        with rt.catalog.session() as session:
            found = jobs.job_report(session, job_id)
        rt.close()
        return found

    worker = subprocess.Popen(
        [sys.executable, "-m", "mmrag", "worker", "--loglevel=WARNING"],
        env=settings_env(settings),
        start_new_session=True,  # as a terminal or service manager starts it
    )
    try:
        deadline = time.monotonic() + PATIENCE
        while report().done < 1:
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.1)
        processes = {worker.pid} | children(worker.pid)
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        wait_gone(processes)
        assert report().status != "done", "the job was not mid-way"
        # What was cut short is re-run after a restart as in test_worker_faults.py.
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
