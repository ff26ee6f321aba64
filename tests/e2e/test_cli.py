"""The ``mmrag`` command as a user runs it: ingest a folder, search, serve and stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mmrag.settings import Settings
from tests.conftest import settings_env
from tests.e2e.conftest import WorkerFactory, start_serve
from tests.media import png_bytes, write_pdf


def mmrag(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmrag", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_ingest_a_folder_reports_counts_and_fails_on_bad_files(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    write_pdf(corpus / "sub" / "manual.pdf", ["the heron stands in the reeds"])
    (corpus / "a.txt").write_text("kingfisher dives")
    (corpus / "b.html").write_text("<html><body><p>egret wading</p></body></html>")
    (corpus / "empty.txt").write_bytes(b"")

    result = mmrag(settings, "ingest", str(corpus), "--collection", "birds")
    assert result.returncode == 1, result.stderr
    assert "indexed 3, skipped 0 (already present), failed 1 of 4" in result.stderr
    assert "empty.txt" in result.stderr and "empty" in result.stderr
    assert "application/pdf: 1" in result.stderr

    again = mmrag(settings, "ingest", str(corpus / "a.txt"), "--collection", "birds")
    assert again.returncode == 0 and "skipped 1" in again.stderr

    found = mmrag(settings, "search", "heron reeds", "-c", "birds", "--explain")
    assert found.returncode == 0 and "heron" in found.stdout and "page=1" in found.stdout
    assert "bm25:1/" in found.stdout  # the explain column: rank/score per channel
    picture = tmp_path / "q.png"
    picture.write_bytes(png_bytes())
    by_image = mmrag(settings, "search", "--image", str(picture), "-c", "birds", "-k", "2")
    assert by_image.returncode == 0, by_image.stderr
    assert "page_image" in by_image.stdout or "image" in by_image.stdout
    not_image = mmrag(settings, "search", "--image", str(corpus / "a.txt"), "-c", "birds")
    assert not_image.returncode == 2 and "bad_query_image" in not_image.stderr
    empty = mmrag(settings, "search", "  ", "-c", "birds")
    assert empty.returncode == 2 and "empty_query" in empty.stderr


def test_missing_path_is_reported(settings: Settings, tmp_path: Path) -> None:
    result = mmrag(settings, "ingest", str(tmp_path / "nope"), "--collection", "c")
    assert result.returncode == 1 and "no such file or directory" in result.stderr


def test_bad_collection_name_is_one_line_not_a_traceback(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("x")
    result = mmrag(settings, "ingest", str(tmp_path / "a.txt"), "--collection", "../etc")
    assert result.returncode == 2 and "error" in result.stderr
    assert "Traceback" not in result.stderr


def test_workers_run_at_lower_priority_than_the_api(start_worker: WorkerFactory) -> None:
    worker = start_worker()
    base = os.getpriority(os.PRIO_PROCESS, 0)
    deadline = time.monotonic() + 30
    while os.getpriority(os.PRIO_PROCESS, worker.pid) == base:  # set as the worker starts
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.1)
    assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(base + 10, 19)


@pytest.mark.slow
def test_serve_answers_ingests_and_stops_cleanly_on_ctrl_c(settings: Settings) -> None:
    server, base = start_serve(settings)
    deadline = time.monotonic() + 60
    try:
        httpx.post(f"{base}/v1/collections", json={"name": "c"})
        up = httpx.post(f"{base}/v1/collections/c/documents", files={"files": ("a.txt", b"ibis")})
        job_id = up.json()["job_id"]
        while httpx.get(f"{base}/v1/jobs/{job_id}").json()["status"] != "done":
            assert time.monotonic() < deadline + 60
            time.sleep(0.2)
        hits = httpx.post(f"{base}/v1/search", json={"collection": "c", "query": {"text": "ibis"}})
        assert hits.json()["hits"][0]["text"] == "ibis"
    finally:
        output = server.stop()
    assert server.returncode == 0, output
    assert "Traceback" not in output
