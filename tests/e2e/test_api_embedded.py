"""End to end on the embedded default: REST API + a real Celery worker on the SQLite broker."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import make_settings
from tests.e2e.conftest import upload, wait_job
from tests.media import png_bytes, write_pdf

HTML = b"""<!doctype html><html><head><title>Pump manual</title><script>var secret=1;</script>
<style>.x{}</style></head><body><h1>Pumps</h1><p>Centrifugal pumps move the coolant.</p>
</body></html>"""


def test_upload_index_search_get_and_delete(
    client: TestClient, worker: subprocess.Popen[bytes], tmp_path: Path, settings: Settings
) -> None:
    assert client.post("/v1/collections", json={"name": "manuals"}).status_code == 201
    pdf = write_pdf(
        tmp_path / "m.pdf",
        ["Intro to the plant.", "The glycol loop carries heat away."],
        image=True,
    )
    files = [
        ("loop.pdf", pdf.read_bytes()),
        ("pumps.html", HTML),
        ("notes.md", b"# Targets\n\nQuarterly target met by the *north* team.\n"),
        ("logo.png", png_bytes(300, 200)),
    ]
    response = upload(client, "manuals", files, metadata='{"team": "ops"}')
    assert response.status_code == 202, response.text
    body = response.json()
    assert [d["filename"] for d in body["documents"]] == [f for f, _ in files]
    job = wait_job(client, body["job_id"])
    assert (job["total"], job["done"], job["failed"], job["errors"]) == (4, 4, 0, [])

    hits = client.post(
        "/v1/search", json={"collection": "manuals", "query": {"text": "glycol loop"}, "k": 5}
    ).json()["hits"]
    assert hits and hits[0]["document_id"] == body["documents"][0]["id"]
    assert hits[0]["locator"]["page"] == 2 and len(hits[0]["locator"]["bbox"]) == 4
    assert hits[0]["media_url"].endswith("#page=2")  # the original PDF, at the cited page

    script = client.post(
        "/v1/search",
        json={"collection": "manuals", "query": {"text": "secret"}, "channels": {"bm25": 1}},
    ).json()
    assert script["hits"] == []  # scripts are dropped from HTML

    pdf_id = body["documents"][0]["id"]
    doc = client.get(f"/v1/documents/{pdf_id}").json()
    assert doc["status"] == "indexed" and doc["metadata"]["team"] == "ops"
    renders = [s for s in doc["segments"] if s["modality"] == "page_image"]
    assert [s["locator"]["page"] for s in renders] == [1, 2]
    media = client.get(renders[0]["media_url"])
    assert media.status_code == 200 and media.headers["content-type"] == "image/png"
    assert media.content.startswith(b"\x89PNG")
    thumb = client.get(doc["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    original = client.get(f"/v1/media/{doc['sha256']}")
    assert original.headers["content-type"] == "application/pdf"
    assert original.content == pdf.read_bytes()
    ranged = client.get(renders[0]["media_url"], headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b"\x89PNG"

    listed = client.get("/v1/collections/manuals/documents", params={"limit": 3}).json()
    rest = client.get(
        "/v1/collections/manuals/documents", params={"cursor": listed["next_cursor"]}
    ).json()
    assert len(listed["documents"]) == 3 and len(rest["documents"]) == 1
    assert rest["next_cursor"] is None

    blob_files = {p for p in settings.blob_dir.rglob("*") if p.is_file()}
    assert client.delete(f"/v1/documents/{pdf_id}").status_code == 204
    assert client.get(f"/v1/documents/{pdf_id}").status_code == 404
    again = client.post(
        "/v1/search", json={"collection": "manuals", "query": {"text": "glycol loop"}}
    ).json()
    assert all(h["document_id"] != pdf_id for h in again["hits"])
    assert client.get(renders[0]["media_url"]).status_code == 404
    left = {p for p in settings.blob_dir.rglob("*") if p.is_file()}
    assert left < blob_files and not any(p.name == doc["sha256"] for p in left)


def test_readyz_reports_stores_broker_and_workers(
    client: TestClient, worker: subprocess.Popen[bytes]
) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 60
    while True:  # the API loads its query encoders in the background
        body = client.get("/readyz").json()
        spaces = body["checks"]["spaces"]
        if all(s.get("state") != "loading" for s in spaces.values()):
            break
        assert time.monotonic() < deadline, spaces
        time.sleep(0.2)
    assert body["ready"] is True
    checks = body["checks"]
    assert checks["catalog"]["backend"] == "sqlite" and checks["broker"]["up"]
    assert spaces["text"] == {"up": True, "model": "sentence-transformers/all-MiniLM-L6-v2",
                              "dim": 384, "device": "cpu"}  # fmt: skip
    assert spaces["image"]["up"] and spaces["audio"]["up"]
    assert "up" in checks["ocr"]
    assert checks["speech"] == {"up": True, "model": "tiny.en"}  # the bundled package


def test_readyz_names_the_setting_when_no_speech_model_is_found(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", speech_model="large-v3")  # offline: not here
    with TestClient(create_app(settings)) as client:
        speech = client.get("/readyz").json()["checks"]["speech"]
    assert speech["up"] is False and "MMRAG_SPEECH_MODEL_PATH" in speech["reason"]


def test_openapi_schema_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in (
        "/v1/collections",
        "/v1/collections/{name}/documents",
        "/v1/jobs/{job_id}",
        "/v1/documents/{document_id}",
        "/v1/search",
        "/v1/media/{key}",
    ):
        assert route in paths
