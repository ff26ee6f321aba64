"""A worker killed mid-job loses nothing: leases expire, the sweeper re-announces, a new
worker finishes, and every file is indexed exactly once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mmrag.catalog.models import SegmentRow
from mmrag.settings import Settings
from tests.e2e.conftest import WorkerFactory, upload, wait_job
from tests.media import png_bytes, write_pdf
from workers.runtime import Runtime


@pytest.mark.slow
def test_sigkill_mid_job_then_a_new_worker_finishes_it_exactly_once(
    client: TestClient, start_worker: WorkerFactory, settings: Settings, tmp_path: Path
) -> None:
    client.post("/v1/collections", json={"name": "c"})
    files = []
    for i in range(24):
        pages = [f"document {i} page {p} mentions token{i}x{p}" for p in range(4)]
        files.append((f"d{i}.pdf", write_pdf(tmp_path / f"d{i}.pdf", pages).read_bytes()))
        files.append((f"n{i}.txt", f"note {i} about token{i}note".encode()))
    files.append(("img.png", png_bytes(300, 300)))
    body = upload(client, "c", files).json()

    first = start_worker()
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{body['job_id']}").json()["done"] < 5:
        assert time.monotonic() < deadline, "worker made no progress"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert client.get(f"/v1/jobs/{body['job_id']}").json()["status"] != "done"

    start_worker()
    job = wait_job(client, body["job_id"], timeout=120)
    assert (job["done"], job["failed"], job["skipped"]) == (len(files), 0, 0)

    rt = Runtime.open(settings)
    with rt.catalog.session() as session:
        text_segments = session.scalar(
            select(func.count()).select_from(SegmentRow).where(SegmentRow.modality == "text")
        )
    assert rt.bm25.count() == text_segments > len(files) - 1
    for i in (0, 11, 23):
        hits = client.post(
            "/v1/search",
            json={"collection": "c", "query": {"text": f"token{i}x2"}, "channels": {"bm25": 1}},
        ).json()["hits"]
        assert len(hits) == 1 and hits[0]["locator"]["page"] == 3
