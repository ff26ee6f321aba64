"""Disk full during ingestion, on a small tmpfs data directory: the upload or the document
fails with a clear reason, what was indexed stays searchable and consistent, the service
keeps serving, and once space is freed the same file goes through."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import make_settings
from tests.e2e.conftest import WorkerFactory, upload, wait_job
from tests.media import write_pdf

SIZE_MB = 64


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mount)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs here: {done.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def settings(small_disk: Path) -> Settings:
    return make_settings(small_disk / "data", spaces=["text"])


def search_ids(client: TestClient, text: str) -> list[str]:
    body = {"collection": "d", "query": {"text": text}, "channels": {"bm25": 1}}
    response = client.post("/v1/search", json=body)
    assert response.status_code == 200, response.text
    return [h["document_id"] for h in response.json()["hits"]]


@pytest.mark.slow
def test_disk_full_fails_clearly_keeps_state_and_recovers(
    settings: Settings, start_worker: WorkerFactory, small_disk: Path, tmp_path: Path
) -> None:
    start_worker()
    pages = [f"atlas page {i} about glaciers" for i in range(40)]
    pdf = write_pdf(tmp_path / "atlas.pdf", pages, image=True)
    with TestClient(create_app(settings)) as client:
        client.post("/v1/collections", json={"name": "d"})
        first = upload(client, "d", [("kept.txt", b"the lighthouse keeper's log")]).json()
        assert wait_job(client, first["job_id"])["done"] == 1
        kept = first["documents"][0]["id"]

        reserve = settings.min_free_bytes
        filler = small_disk / "filler"

        def leave_free(amount: int) -> None:
            filler.unlink(missing_ok=True)
            free = shutil.disk_usage(small_disk).free
            with filler.open("wb") as out:
                out.write(b"\0" * max(0, free - amount))

        leave_free(reserve // 2)  # below the headroom: uploads are refused at the door
        refused = upload(client, "d", [("atlas.pdf", pdf.read_bytes())])
        assert refused.status_code == 507, refused.text
        error = refused.json()["error"]
        assert error["code"] == "disk_full" and "MMRAG_MIN_FREE_BYTES" in error["message"]

        leave_free(reserve + pdf.stat().st_size // 2)  # the upload fits, its work does not
        accepted = upload(client, "d", [("atlas.pdf", pdf.read_bytes())])
        assert accepted.status_code == 202, accepted.text
        job = wait_job(client, accepted.json()["job_id"], timeout=120)
        assert job["failed"] == 1 and "no space left" in job["errors"][0]["reason"], job
        failed = client.get(f"/v1/documents/{accepted.json()['documents'][0]['id']}").json()
        assert failed["error_code"] == "disk_full" and failed["segments"] == []
        assert client.get("/healthz").status_code == 200
        assert search_ids(client, "lighthouse keeper") == [kept]
        assert search_ids(client, "glaciers") == []  # nothing half-indexed

        filler.unlink()
        again = upload(client, "d", [("atlas.pdf", pdf.read_bytes())])
        assert again.status_code == 202, again.text
        job = wait_job(client, again.json()["job_id"], timeout=180)
        assert (job["done"], job["failed"]) == (1, 0), job
        atlas = again.json()["documents"][0]["id"]
        assert atlas in search_ids(client, "glaciers atlas")
        document = client.get(f"/v1/documents/{atlas}").json()
        assert document["status"] == "indexed" and len(document["segments"]) >= 40


def fill(small_disk: Path) -> Path:
    """Fill the volume to the last byte; return the filler file (unlink it to free space)."""
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1024 * 1024, 4096, 1):  # big blocks, then what is left, to the last byte
            with contextlib.suppress(OSError):
                while out.write(b"\0" * size):
                    pass
    return filler


@pytest.mark.slow
def test_a_full_disk_anywhere_in_a_request_is_507_and_heals(small_disk: Path) -> None:
    """No headroom to stop requests at the door: the first BM25 index is created on a full
    disk (its marker used to stay 0 bytes, failing every search and delete for good after),
    and an upload's blob write meets ENOSPC (500 ``internal_error`` before)."""
    settings = make_settings(small_disk / "data", spaces=["text"], min_free_bytes=0)
    body = {"collection": "d", "query": {"text": "lighthouse"}, "channels": {"bm25": 1}}
    # As a real server does: answer, then let the server log the exception.
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.post("/v1/collections", json={"name": "d"}).status_code == 201
        filler = fill(small_disk)
        for response in (
            client.post("/v1/search", json=body),
            upload(client, "d", [("log.txt", b"the lighthouse keeper's log " * 1000)]),
        ):
            assert response.status_code == 507, response.text
            assert response.json()["error"]["code"] == "disk_full"
        assert client.get("/healthz").status_code == 200
        marker = settings.index_dir / "bm25" / "mmrag-bm25.json"
        assert not marker.exists() or json.loads(marker.read_text())

        filler.unlink()
        assert client.post("/v1/search", json=body).status_code == 200
        assert json.loads(marker.read_text())["tokenizer"]
        stored = upload(client, "d", [("log.txt", b"the lighthouse keeper's log")])
        assert stored.status_code == 202, stored.text
        document = stored.json()["documents"][0]["id"]
        assert client.delete(f"/v1/documents/{document}").status_code in (200, 202, 204)


def test_a_truncated_bm25_marker_from_an_older_version_heals(settings: Settings) -> None:
    marker = settings.index_dir / "bm25" / "mmrag-bm25.json"
    marker.parent.mkdir(parents=True)
    marker.write_bytes(b"")  # what an in-place write left on a full disk
    body = {"collection": "d", "query": {"text": "lighthouse"}, "channels": {"bm25": 1}}
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/collections", json={"name": "d"}).status_code == 201
        assert client.post("/v1/search", json=body).status_code == 200
        assert client.delete("/v1/documents/nope").status_code == 404
    assert json.loads(marker.read_text())["tokenizer"]
