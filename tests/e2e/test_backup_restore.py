"""`mmrag backup` while a worker ingests, `mmrag restore` into a fresh directory: the restored
instance answers the backed-up searches identically and finishes the interrupted job."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from index import backup as backups
from mmrag.errors import BadInput, Conflict
from mmrag.settings import Settings
from tests.conftest import make_settings, settings_env
from tests.e2e.conftest import WorkerFactory, upload, wait_job
from tests.e2e.store_counts import assert_indexed_exactly_once, store_counts
from tests.media import png_bytes, write_pdf
from workers.runtime import Runtime

QUERIES = ["token3x1", "walrus harbour", "note 7 about lighthouses", "page 2 mentions"]


def mmrag(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmrag", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def search(client: TestClient, collection: str, text: str) -> list[tuple[str, float]]:
    # Rank fusion: its scores depend on ranks only, while score-based fusion would also carry
    # BM25's corpus-wide statistics, which collection b changes between the two searches.
    body = {"collection": collection, "query": {"text": text}, "k": 8, "fusion": {"method": "rrf"}}
    response = client.post("/v1/search", json=body)
    assert response.status_code == 200, response.text
    return [(h["segment_id"], h["score"]) for h in response.json()["hits"]]


def corpus(tmp_path: Path, prefix: str, n: int) -> list[tuple[str, bytes]]:
    files = []
    for i in range(n):
        pages = [f"{prefix} document {i} page {p} mentions token{i}x{p}" for p in range(3)]
        pdf = write_pdf(tmp_path / f"{prefix}{i}.pdf", pages).read_bytes()
        files.append((f"{prefix}{i}.pdf", pdf))
        files.append((f"{prefix}{i}.txt", f"note {i} about lighthouses and a walrus {i}".encode()))
    return files


@contextmanager
def worker_on(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmrag", "worker", "--loglevel=WARNING"],
        env=settings_env(settings),
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_backup_while_ingesting_then_restore_answers_identically(
    client: TestClient, start_worker: WorkerFactory, settings: Settings, tmp_path: Path
) -> None:
    for name in ("a", "b"):
        client.post("/v1/collections", json={"name": name})
    files_a = [*corpus(tmp_path, "a", 5), ("img.png", png_bytes(300, 300))]
    job_a = upload(client, "a", files_a).json()["job_id"]
    start_worker()
    assert wait_job(client, job_a)["done"] == len(files_a)
    expected = {q: search(client, "a", q) for q in QUERIES}
    assert all(expected.values())

    job_b = upload(client, "b", corpus(tmp_path, "b", 12)).json()["job_id"]
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{job_b}").json()["done"] < 2:
        assert time.monotonic() < deadline, "worker made no progress on job b"
        time.sleep(0.05)
    made = mmrag(settings, "backup", str(tmp_path / "backup"))  # the worker keeps ingesting
    assert made.returncode == 0, made.stderr
    manifest = json.loads((tmp_path / "backup" / backups.MANIFEST).read_text())
    assert manifest["documents"] == len(files_a) + 24 and manifest["vector_records"] > 0
    assert manifest["unfinished"] > 0  # the cut fell in the middle of job b

    restored = make_settings(tmp_path / "restored")
    done = mmrag(restored, "restore", str(tmp_path / "backup"))
    assert done.returncode == 0, done.stderr
    with TestClient(create_app(restored)) as copy:
        assert {q: search(copy, "a", q) for q in QUERIES} == expected
        with worker_on(restored):
            job = wait_job(copy, job_b, timeout=180)
    assert (job["done"], job["failed"], job["total"]) == (24, 0, 24)
    wait_job(client, job_b, timeout=180)
    assert_indexed_exactly_once(restored, len(files_a) + 24)
    assert store_counts(restored) == store_counts(settings)  # segment for segment, as live


def test_restore_refuses_a_non_empty_data_dir_and_a_non_backup(
    settings: Settings, tmp_path: Path
) -> None:
    Runtime.open(settings).close()  # an initialised data dir with an empty catalog
    made = backups.backup(settings, tmp_path / "backup")
    assert (made.documents, made.blobs) == (0, 0)
    with pytest.raises(Conflict) as refused:
        backups.restore(settings, tmp_path / "backup")
    assert refused.value.code == "data_dir_not_empty" and "--force" in refused.value.message
    with pytest.raises(BadInput) as not_backup:
        backups.restore(make_settings(tmp_path / "fresh"), tmp_path)
    assert not_backup.value.code == "not_a_backup"
    with pytest.raises(Conflict):
        backups.backup(settings, tmp_path / "backup")  # never over an existing backup
    cli = mmrag(settings, "restore", str(tmp_path / "backup"))
    assert cli.returncode == 2 and "data_dir_not_empty" in cli.stderr
    forced = mmrag(settings, "restore", str(tmp_path / "backup"), "--force")
    assert forced.returncode == 0, forced.stderr


def test_server_catalogs_are_refused_with_a_pointer_to_their_own_tools(tmp_path: Path) -> None:
    pg = make_settings(tmp_path / "d", catalog_url="postgresql+psycopg://u:secret@db:5432/mmrag")
    with pytest.raises(BadInput) as refused:
        backups.backup(pg, tmp_path / "backup")
    assert refused.value.code == "not_embedded" and "pg_dump" in refused.value.message
    assert "secret" not in refused.value.message
    with pytest.raises(BadInput, match="Qdrant snapshots"):
        backups.restore(make_settings(tmp_path / "q", vector_store="qdrant"), tmp_path)
