"""Faults on a real broker: a worker SIGKILLed mid-job (embedded SQLite broker and Redis), and
the Redis server restarted mid-job with its queue lost. The job finishes and every file is
indexed exactly once: catalog, BM25 and every vector space agree segment for segment."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from mmrag.settings import Settings
from tests.conftest import REDIS_URL, make_settings
from tests.e2e.conftest import WorkerFactory, upload, wait_job
from tests.e2e.store_counts import assert_indexed_exactly_once
from tests.media import png_bytes, write_pdf

REDIS_SERVER = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.services)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()
        yield make_settings(tmp_path / "data", broker_url=REDIS_URL)
    else:
        yield make_settings(tmp_path / "data")


def mixed_files(tmp_path: Path, n: int) -> list[tuple[str, bytes]]:
    """PDFs, text, Markdown, HTML and a picture, each with words no other file has."""
    files = []
    for i in range(n):
        pages = [f"manual {i} page {p} covers valve{i}x{p}" for p in range(2)]
        files.append((f"m{i}.pdf", write_pdf(tmp_path / f"m{i}.pdf", pages).read_bytes()))
        files.append((f"n{i}.txt", f"note {i} about gasket{i}".encode()))
        files.append((f"r{i}.md", f"# Report {i}\n\nThe pump{i} hums.\n".encode()))
        files.append((f"w{i}.html", f"<html><body><p>web page {i} on flange{i}</p>".encode()))
    return [*files, ("pic.png", png_bytes(300, 300))]


def wait_done(client: TestClient, job_id: str, at_least: int) -> None:
    deadline = time.monotonic() + 90
    while client.get(f"/v1/jobs/{job_id}").json()["done"] < at_least:
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkilled_worker_mid_job_then_a_new_one_indexes_every_file_once(
    client: TestClient, start_worker: WorkerFactory, settings: Settings, tmp_path: Path
) -> None:
    client.post("/v1/collections", json={"name": "c"})
    files = mixed_files(tmp_path, 8)
    job_id = upload(client, "c", files).json()["job_id"]
    first = start_worker()
    wait_done(client, job_id, 4)
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool, mid-task
    first.wait()
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] != "done"

    start_worker()
    job = wait_job(client, job_id, timeout=150)
    assert (job["done"], job["failed"], job["skipped"]) == (len(files), 0, 0)
    assert_indexed_exactly_once(settings, len(files))
    hits = client.post(
        "/v1/search",
        json={"collection": "c", "query": {"text": "valve5x1"}, "channels": {"bm25": 1}},
    ).json()["hits"]
    assert [h["locator"]["page"] for h in hits] == [2]


def restart_redis() -> None:
    """Stop Redis without saving (queued messages are lost) and start it again."""
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False, timeout=10)
    time.sleep(1.0)
    subprocess.run(REDIS_SERVER, check=True, timeout=10)
    deadline = time.monotonic() + 20
    while subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).returncode:
        assert time.monotonic() < deadline, "redis did not come back"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.services
@pytest.mark.parametrize("settings", ["redis"], indirect=True)
def test_redis_restarted_mid_job_loses_its_queue_and_the_job_still_finishes(
    client: TestClient, start_worker: WorkerFactory, settings: Settings, tmp_path: Path
) -> None:
    client.post("/v1/collections", json={"name": "c"})
    files = mixed_files(tmp_path, 6)
    job_id = upload(client, "c", files).json()["job_id"]
    start_worker()
    wait_done(client, job_id, 3)
    try:
        restart_redis()
    finally:  # whatever happened, leave a Redis running for the rest of the suite
        if subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).returncode:
            subprocess.run(REDIS_SERVER, check=False, timeout=10)
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] != "done"
    job = wait_job(client, job_id, timeout=150)  # the sweeper re-announces what was lost
    assert (job["done"], job["failed"]) == (len(files), 0)
    assert_indexed_exactly_once(settings, len(files))
