"""Bad input through the REST API: clear 4xx or a failed document with its reason,
every other document intact, the service still serving."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import make_settings
from tests.e2e.conftest import upload, wait_job
from tests.media import bomb_png_bytes, encrypted_pdf_bytes, png_bytes, write_pdf

ZERO_PAGE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", max_pdf_pages=3, max_upload_bytes=2_000_000)


def test_hostile_files_fail_alone_with_their_reasons(
    client: TestClient, worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    client.post("/v1/collections", json={"name": "c"})
    good = write_pdf(tmp_path / "good.pdf", ["the walrus sings at dawn"]).read_bytes()
    big = write_pdf(tmp_path / "big.pdf", ["p"] * 4).read_bytes()
    cases = {
        "empty.txt": (b"", "empty_file"),
        "truncated.pdf": (good[:300], "pdf_corrupt"),
        "locked.pdf": (encrypted_pdf_bytes(), "pdf_encrypted"),
        "zero.pdf": (ZERO_PAGE_PDF, "pdf_no_pages"),
        "huge.pdf": (big, "pdf_too_many_pages"),
        "broken.png": (png_bytes()[:60], "image_corrupt"),
        "bomb.png": (bomb_png_bytes(), "image_too_large"),
        "tool.pdf": (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "unsupported_media_type"),
        "run.txt": (b"#!/bin/sh\nrm -rf /\n", "unsupported_media_type"),
    }
    files = [(name, data) for name, (data, _) in cases.items()] + [("good.pdf", good)]
    response = upload(client, "c", files)
    assert response.status_code == 202, response.text
    ids = {d["filename"]: d["id"] for d in response.json()["documents"]}
    job = wait_job(client, response.json()["job_id"])
    assert (job["total"], job["done"], job["failed"]) == (len(files), 1, len(cases))
    reasons = {e["filename"]: e["reason"] for e in job["errors"]}
    assert set(reasons) == set(cases)
    for name, (_, code) in cases.items():
        doc = client.get(f"/v1/documents/{ids[name]}").json()
        assert (doc["status"], doc["error_code"]) == ("failed", code), name
        assert doc["error"] == reasons[name]
    hits = client.post(
        "/v1/search", json={"collection": "c", "query": {"text": "walrus"}, "channels": {"bm25": 1}}
    )
    assert [h["document_id"] for h in hits.json()["hits"]] == [ids["good.pdf"]]
    assert client.get("/healthz").status_code == 200


def test_duplicate_upload_returns_the_existing_document(
    client: TestClient, worker: subprocess.Popen[bytes], settings: Settings
) -> None:
    client.post("/v1/collections", json={"name": "c"})
    first = upload(client, "c", [("a.txt", b"same bytes")]).json()
    wait_job(client, first["job_id"])
    blobs_before = sorted(settings.blob_dir.rglob("*"))
    second = upload(client, "c", [("b.txt", b"same bytes")]).json()
    assert second["documents"][0]["id"] == first["documents"][0]["id"]
    assert second["documents"][0]["status"] == "indexed"
    job = wait_job(client, second["job_id"])
    assert (job["total"], job["skipped"], job["done"]) == (1, 1, 0)
    assert sorted(settings.blob_dir.rglob("*")) == blobs_before
    listed = client.get("/v1/collections/c/documents").json()["documents"]
    assert len(listed) == 1


def test_filenames_are_reduced_to_their_base_name_and_nul_is_refused(client: TestClient) -> None:
    client.post("/v1/collections", json={"name": "c"})
    ok = upload(client, "c", [("../../etc/passwd", b"root:x:0:0")])
    assert ok.status_code == 202 and ok.json()["documents"][0]["filename"] == "passwd"
    # httpx escapes NUL in filenames, so send the raw multipart body a hostile client would.
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="a\x00b.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nx\r\n--XyZ--\r\n"
    )
    bad = client.post(
        "/v1/collections/c/documents",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["code"] == "invalid_filename"


def test_upload_over_the_limit_is_refused_before_it_is_stored(
    client: TestClient, settings: Settings
) -> None:
    client.post("/v1/collections", json={"name": "c"})
    response = upload(client, "c", [("big.bin", b"x" * 3_200_000)])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert [p for p in settings.blob_dir.rglob("*") if p.is_file()] == []
    assert client.get("/v1/collections/c/documents").json()["documents"] == []


def test_request_errors_are_json_with_codes(client: TestClient) -> None:
    cases = [
        (client.post("/v1/collections", json={"name": "../etc"}), 422, "invalid_collection_name"),
        (client.post("/v1/collections", json={"name": "a/b"}), 422, "invalid_collection_name"),
        (upload(client, "..%2Fetc", [("a.txt", b"x")]), 404, "not_found"),
        (upload(client, "nope", [("a.txt", b"x")]), 404, "collection_not_found"),
        (client.get("/v1/jobs/nope"), 404, "job_not_found"),
        (client.get("/v1/documents/nope"), 404, "document_not_found"),
        (client.delete("/v1/documents/nope"), 404, "document_not_found"),
        (client.get(f"/v1/media/{'0' * 64}"), 404, "media_not_found"),
        (client.get("/v1/media/..%2F..%2Fetc%2Fpasswd"), 404, "not_found"),
        (client.get("/v1/media/not-a-key"), 422, "bad_media_key"),
        (
            client.post(
                "/v1/search", content=b"{not json", headers={"content-type": "application/json"}
            ),
            422,
            "validation_error",
        ),
        (client.post("/v1/search", json={"query": {"text": "x"}}), 422, "validation_error"),
    ]
    client.post("/v1/collections", json={"name": "c"})
    cases += [
        (client.post("/v1/search", json={"collection": "c", "query": {}}), 422, "empty_query"),
        (
            client.post("/v1/search", json={"collection": "c", "query": {"text": "x"}, "k": 0}),
            422,
            "bad_k",
        ),
        (
            client.post(
                "/v1/search",
                json={"collection": "c", "query": {"text": "x"}, "filters": {"color": "red"}},
            ),
            422,
            "validation_error",
        ),
        (client.post("/v1/collections", json={"name": "c"}), 409, "collection_exists"),
        (
            upload(client, "c", [("a.txt", b"x")], metadata="{broken"),
            422,
            "invalid_metadata",
        ),
        (client.get("/v1/collections/c/documents", params={"status": "zzz"}), 422, "bad_filter"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (code, response.text)
        body = response.json()
        assert body["error"]["code"] == code and body["error"]["message"]
        assert "Traceback" not in response.text
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def tiny_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path / "tiny", max_upload_bytes=10))) as c:
        yield c


def test_content_length_over_limit_gets_413_without_reading_the_body(
    tiny_client: TestClient,
) -> None:
    response = tiny_client.post(
        "/v1/collections", content=b"x" * 1_100_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
