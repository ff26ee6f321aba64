"""Hostile and malformed input across upload, search, answer and bulk import.

Every request-time case must get a clear 4xx ``{"error": {"code", "message"}}`` with no
stack trace, change nothing stored (documents, segments, jobs, blobs, BM25 and vector
counts, and a search's hits are compared before and after) and leave the service healthy.
Files that are only found to be bad while being ingested fail their own document with a
reason in the job, and nothing else.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pymupdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from index.bm25 import open_bm25
from mmrag.catalog.models import DocumentRow, JobRow, SegmentRow
from mmrag.settings import Settings
from tests.conftest import make_settings, settings_env
from tests.e2e.conftest import upload, wait_job
from tests.media import bomb_png_bytes, png_bytes, write_pdf
from workers.bulk import enqueue_paths
from workers.runtime import Runtime

MAX_UPLOAD = 2_000_000
NOISE = random.Random(7).randbytes(20_000)
SEARCH = {"collection": "c", "query": {"text": "walrus harbour"}, "k": 5}


@dataclass
class World:
    client: TestClient
    settings: Settings
    rt: Runtime

    def state(self) -> dict[str, Any]:
        """Everything a bad request must leave as it was."""
        with self.rt.catalog.session() as session:
            counts = {
                table.__tablename__: session.scalar(select(func.count()).select_from(table))
                for table in (DocumentRow, SegmentRow, JobRow)
            }
        with closing(sqlite3.connect(self.settings.index_dir / "faiss" / "records.sqlite")) as db:
            counts["vectors"] = db.execute("SELECT count(*) FROM records").fetchone()[0]
        counts["bm25"] = open_bm25(self.settings).count()  # a fresh reader: never stale
        counts["blobs"] = sum(1 for p in self.settings.blob_dir.rglob("*") if p.is_file())
        hits = self.client.post("/v1/search", json=SEARCH)
        assert hits.status_code == 200, hits.text
        counts["hits"] = [h["segment_id"] for h in hits.json()["hits"]]
        return counts


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One service with indexed documents and a live worker, shared by every case."""
    root = tmp_path_factory.mktemp("hostile")
    settings = make_settings(
        root / "data",
        max_upload_bytes=MAX_UPLOAD,
        max_files_per_upload=5,
        max_pdf_pages=50,
        max_text_bytes=300_000,
        max_image_pixels=4_000_000,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "mmrag", "worker", "--loglevel=WARNING"],
        env=settings_env(settings),
        start_new_session=True,
    )
    try:
        with TestClient(create_app(settings)) as client:
            client.post(
                "/v1/collections", json={"name": "c", "metadata_fields": {"year": "integer"}}
            )
            pdf = write_pdf(root / "w.pdf", ["the walrus sleeps in the harbour", "page two"])
            seed = [("w.pdf", pdf.read_bytes()), ("n.txt", b"a note on the harbour walls")]
            job = upload(client, "c", seed, metadata='{"year": 1999}').json()["job_id"]
            assert wait_job(client, job)["done"] == 2
            rt = Runtime.open(settings)
            yield World(client, settings, rt)
            rt.close()
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def raw_json(client: TestClient, path: str, body: bytes | str) -> httpx.Response:
    return client.post(path, content=body, headers={"content-type": "application/json"})


def raw_multipart(
    client: TestClient, path: str, body: bytes, boundary: str = "XyZ"
) -> httpx.Response:
    return client.post(
        path, content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )


def search(**changes: Any) -> Callable[[TestClient], httpx.Response]:
    return lambda c: c.post("/v1/search", json={**SEARCH, **changes})


def ask(**body: Any) -> Callable[[TestClient], httpx.Response]:
    return lambda c: c.post("/v1/answer", json={"collection": "c", "question": "walrus?", **body})


def chunked(size: int) -> Iterator[bytes]:
    for _ in range(size // 65536 + 1):
        yield b"x" * 65536


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


FILE_PART = b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="%s"\r\n\r\nx\r\n'
DOCS = "/v1/collections/c/documents"

# name -> (request, HTTP status, error code)
CASES: dict[str, tuple[Callable[[TestClient], httpx.Response], int, str]] = {
    # collections
    "collection name with SQL": (
        lambda c: c.post("/v1/collections", json={"name": "x'; DROP TABLE documents;--"}),
        422,
        "invalid_collection_name",
    ),
    "collection name too long": (
        lambda c: c.post("/v1/collections", json={"name": "a" * 65}),
        422,
        "validation_error",
    ),
    "collection name not ASCII": (
        lambda c: c.post("/v1/collections", json={"name": "cöllection"}),
        422,
        "invalid_collection_name",
    ),
    "collection name a number": (
        lambda c: c.post("/v1/collections", json={"name": 123}),
        422,
        "validation_error",
    ),
    "collection unknown field": (
        lambda c: c.post("/v1/collections", json={"name": "ok1", "owner": "root"}),
        422,
        "validation_error",
    ),
    "collection field kind with SQL": (
        lambda c: c.post(
            "/v1/collections", json={"name": "ok2", "metadata_fields": {"x": "text; DROP"}}
        ),
        422,
        "invalid_field",
    ),
    "collection field name with SQL": (
        lambda c: c.post(
            "/v1/collections", json={"name": "ok3", "metadata_fields": {"a) OR 1=1--": "keyword"}}
        ),
        422,
        "invalid_field",
    ),
    "collection body an array": (
        lambda c: c.post("/v1/collections", json=[{"name": "ok4"}]),
        422,
        "validation_error",
    ),
    # uploads
    "upload to a collection name with SQL": (
        lambda c: upload(c, "a' OR '1'='1", [("a.txt", b"x")]),
        404,
        "collection_not_found",
    ),
    "upload with no files": (
        lambda c: c.post(DOCS, data={"metadata": "{}"}),
        422,
        "validation_error",
    ),
    "upload files as a text field": (
        lambda c: c.post(DOCS, data={"files": "not a file"}),
        422,
        "validation_error",
    ),
    "upload metadata a JSON array": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata="[1, 2]"),
        422,
        "invalid_metadata",
    ),
    "upload metadata nested 100k deep": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata=deep(100_000)),
        422,
        "bad_metadata",
    ),
    # Accepted once, these made the document and its collection's list answer 500 for good.
    "upload metadata nested 900 deep": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata='{"a":' + deep(899) + "}"),
        422,
        "bad_metadata",
    ),
    "upload metadata nested 17 deep": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata='{"a":' + deep(16) + "}"),
        422,
        "bad_metadata",
    ),
    "upload metadata integer of 5000 digits": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata='{"year": ' + "9" * 5000 + "}"),
        422,
        "bad_metadata",
    ),
    "upload metadata integer over 64 bits": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata='{"year": 9223372036854775808}'),
        422,
        "bad_metadata",
    ),
    "upload metadata NaN": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata='{"score": NaN}'),
        422,
        "bad_metadata",
    ),
    "upload metadata number overflowing to infinity": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata='{"score": 1e999}'),
        422,
        "bad_metadata",
    ),
    "upload metadata over 64 KiB": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata=json.dumps({"a": "x" * 70_000})),
        422,
        "bad_metadata",
    ),
    "upload metadata over the part limit": (
        lambda c: upload(c, "c", [("a.txt", b"x")], metadata=json.dumps({"a": "x" * 1_100_000})),
        400,
        "bad_request",
    ),
    "upload too many files": (
        lambda c: upload(c, "c", [(f"f{i}.txt", f"file {i}".encode()) for i in range(6)]),
        422,
        "too_many_files",
    ),
    "upload one oversized file among small ones": (
        lambda c: upload(c, "c", [("a.txt", b"small and fine"), ("b.bin", b"x" * 2_500_000)]),
        413,
        "payload_too_large",
    ),
    "upload body over the limit (Content-Length)": (
        lambda c: upload(c, "c", [("big.bin", b"x" * (MAX_UPLOAD + 1_200_000))]),
        413,
        "payload_too_large",
    ),
    "upload body over the limit (chunked)": (
        lambda c: c.post(
            DOCS,
            content=chunked(MAX_UPLOAD + 1_200_000),
            headers={"content-type": "multipart/form-data; boundary=XyZ"},
        ),
        413,
        "payload_too_large",
    ),
    "upload JSON instead of multipart": (
        lambda c: c.post(DOCS, json={"files": ["a.txt"]}),
        422,
        "validation_error",
    ),
    "upload garbage multipart body": (
        lambda c: raw_multipart(c, DOCS, b"\x00\xff garbage without any boundary"),
        400,
        "bad_request",
    ),
    "upload multipart without a boundary": (
        lambda c: c.post(DOCS, content=b"--a\r\n", headers={"content-type": "multipart/form-data"}),
        400,
        "bad_request",
    ),
    "upload filename '..'": (
        lambda c: raw_multipart(c, DOCS, FILE_PART % b".." + b"--XyZ--\r\n"),
        422,
        "invalid_filename",
    ),
    "upload filename with an escape sequence": (
        lambda c: raw_multipart(c, DOCS, FILE_PART % b"\x1b[31mred.txt" + b"--XyZ--\r\n"),
        422,
        "invalid_filename",
    ),
    # search
    "search k negative": (search(k=-5), 422, "bad_k"),
    "search k huge": (search(k=10**12), 422, "validation_error"),
    "search k of 400 digits": (search(k=10**400), 422, "validation_error"),
    "search k above the max_k setting": (search(k=201), 422, "bad_k"),
    "search k a string": (search(k="ten"), 422, "validation_error"),
    "search k overflows to infinity": (
        lambda c: raw_json(c, "/v1/search", '{"collection":"c","query":{"text":"x"},"k":1e999}'),
        422,
        "validation_error",
    ),
    "search JSON nested 100k deep": (
        lambda c: raw_json(c, "/v1/search", '{"collection":"c","query":' + deep(100_000) + "}"),
        422,
        "validation_error",
    ),
    "search filter ranges nested": (
        search(filters={"metadata": {"year": json.loads('{"gte":' * 40 + "1" + "}" * 40)}}),
        422,
        "validation_error",
    ),
    "search body over the limit": (
        lambda c: raw_json(c, "/v1/search", b" " * (MAX_UPLOAD + 1_100_000)),
        413,
        "payload_too_large",
    ),
    "search text too long": (search(query={"text": "walrus " * 2000}), 422, "bad_input"),
    "search invalid UTF-8": (
        lambda c: raw_json(c, "/v1/search", b'{"collection":"c","query":{"text":"\xff\xfe"}}'),
        422,
        "validation_error",
    ),
    "search body an array": (
        lambda c: raw_json(c, "/v1/search", "[1, 2]"),
        422,
        "validation_error",
    ),
    "search unknown field": (search(limit=5), 422, "validation_error"),
    "search unknown collection": (search(collection="nope"), 404, "collection_not_found"),
    "search collection name with SQL": (
        search(collection="c'; DROP TABLE segments;--"),
        404,
        "collection_not_found",
    ),
    "search 65 collections": (
        search(collections=[f"c{i}" for i in range(65)]),
        422,
        "validation_error",
    ),
    "search unknown modality": (search(filters={"modalities": ["sql"]}), 422, "bad_filter"),
    "search unindexed metadata field": (
        search(filters={"metadata": {"owner": "root"}}),
        422,
        "unindexed_field",
    ),
    "search integer field given a word": (
        search(filters={"metadata": {"year": "nineteen"}}),
        422,
        "bad_filter",
    ),
    "search created range not a date": (
        search(filters={"created": {"gte": "yesterday'--"}}),
        422,
        "bad_filter",
    ),
    "search rrf_k zero": (search(rrf_k=0), 422, "bad_rrf_k"),
    "search rrf_k hugely negative": (search(rrf_k=-(10**400)), 422, "bad_rrf_k"),
    # 500 (OverflowError) and a reset keep-alive connection before it was bounded.
    "search rrf_k of 400 digits": (search(rrf_k=10**400), 422, "validation_error"),
    "search channel weight huge": (search(channels={"bm25": 1e300}), 422, "validation_error"),
    "search merge span overflowing to infinity": (
        lambda c: raw_json(
            c, "/v1/search", '{"collection":"c","query":{"text":"x"},"merge_span_s":1e999}'
        ),
        422,
        "validation_error",
    ),
    "search metadata filter integer of 400 digits": (
        search(filters={"metadata": {"year": 10**400}}),
        422,
        "validation_error",
    ),
    "search metadata range overflowing to infinity": (
        lambda c: raw_json(
            c,
            "/v1/search",
            '{"collection":"c","query":{"text":"x"},"filters":{"metadata":{"year":{"gte":1e999}}}}',
        ),
        422,
        "validation_error",
    ),
    "search negative channel weight": (search(channels={"bm25": -1}), 422, "bad_weight"),
    "search unknown channel": (search(channels={"sql": 1}), 422, "unknown_channel"),
    "search infinite channel weight": (
        lambda c: raw_json(
            c, "/v1/search", '{"collection":"c","query":{"text":"x"},"channels":{"bm25":Infinity}}'
        ),
        422,
        "validation_error",
    ),
    "search NaN channel weight": (
        lambda c: raw_json(
            c, "/v1/search", '{"collection":"c","query":{"text":"x"},"channels":{"bm25":NaN}}'
        ),
        422,
        "validation_error",
    ),
    "search negative merge span": (search(merge_span_s=-1), 422, "validation_error"),
    "search image not base64": (search(query={"image": "@@not base64@@"}), 422, "bad_query_media"),
    "search image a decompression bomb": (
        search(query={"image": b64(bomb_png_bytes())}),
        422,
        "bad_query_image",
    ),
    "search image not an image": (
        search(query={"image": b64(b"hello world")}),
        422,
        "bad_query_image",
    ),
    "search audio garbage": (
        search(query={"audio": b64(NOISE[:4096])}),
        422,
        "bad_query_audio",
    ),
    "search multipart without request": (
        lambda c: c.post("/v1/search", files={"image": ("q.png", png_bytes())}),
        422,
        "bad_input",
    ),
    "search multipart request not JSON": (
        lambda c: c.post("/v1/search", data={"request": "{nope"}, files={"x": ("a", b"a")}),
        422,
        "validation_error",
    ),
    "search multipart with too many files": (
        lambda c: c.post(
            "/v1/search",
            data={"request": json.dumps(SEARCH)},
            files=[("image", ("q.png", png_bytes())) for _ in range(3)],
        ),
        400,
        "bad_request",
    ),
    "search 1001 document ids": (
        search(filters={"document_ids": ["x"] * 1001}),
        422,
        "validation_error",
    ),
    "search query a string": (search(query="walrus"), 422, "validation_error"),
    "search empty query": (search(query={"text": "   "}), 422, "empty_query"),
    # documents, jobs, media
    "document id with SQL": (
        lambda c: c.get("/v1/documents/' OR 1=1 --"),
        404,
        "document_not_found",
    ),
    "document list limit negative": (
        lambda c: c.get(DOCS, params={"limit": -1}),
        422,
        "validation_error",
    ),
    "document list cursor too long": (
        lambda c: c.get(DOCS, params={"cursor": "z" * 65}),
        422,
        "validation_error",
    ),
    "job id with SQL": (lambda c: c.get("/v1/jobs/1;DELETE FROM jobs"), 404, "job_not_found"),
    "media key with a NUL": (lambda c: c.get("/v1/media/%00" + "a" * 63), 422, "bad_media_key"),
    # answers
    "answer empty question": (ask(question="  "), 422, "empty_question"),
    "answer question too long": (ask(question="why " * 5000), 422, "question_too_long"),
    "answer k negative": (ask(k=-1), 422, "bad_k"),
    "answer k of 400 digits": (ask(k=10**400), 422, "validation_error"),
    "answer question not a string": (ask(question=["a"]), 422, "validation_error"),
    "answer unknown field": (ask(temperature=2), 422, "validation_error"),
    "answer unknown collection": (ask(collection="nope"), 404, "collection_not_found"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_bad_request_gets_a_clear_4xx_and_changes_nothing(world: World, name: str) -> None:
    send, status, code = CASES[name]
    before = world.state()
    response = send(world.client)
    assert response.status_code == status, (name, response.status_code, response.text[:300])
    error = response.json()["error"]
    assert error["code"] == code and error["message"], (name, error)
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert world.state() == before, name
    assert world.client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.slow
def test_metacharacters_are_data_not_code(world: World) -> None:
    """SQL, query syntax and NUL in names, metadata and queries are stored and searched as text."""
    hostile = "'; DROP TABLE documents; -- \" OR 1=1 /* */ \\ %_ *? title:(a AND"
    before = world.state()
    for text in (hostile, "\u0000walrus", "walrus\u202eharbour", "🦭" * 50):
        response = world.client.post("/v1/search", json={**SEARCH, "query": {"text": text}})
        assert response.status_code == 200, (text, response.text)
    meta = {"year": 2001, "title": hostile, "$where": {"$gt": ""}, "tags": [hostile]}
    body = upload(world.client, "c", [("m.txt", f"walrus {hostile}".encode())],
                  metadata=json.dumps(meta))  # fmt: skip
    assert body.status_code == 202, body.text
    assert wait_job(world.client, body.json()["job_id"])["done"] == 1
    doc = world.client.get(f"/v1/documents/{body.json()['documents'][0]['id']}").json()
    assert doc["metadata"]["title"] == hostile and doc["metadata"]["$where"] == {"$gt": ""}
    after = world.state()
    assert after["documents"] == before["documents"] + 1 and after["jobs"] == before["jobs"] + 1
    found = world.client.post(
        "/v1/search", json={**SEARCH, "filters": {"metadata": {"year": 2001}}}
    ).json()["hits"]
    assert {h["document_id"] for h in found} == {doc["id"]}


def pdf_with_page_size(side: float) -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=side, height=side).insert_text((72, 72), "an enormous page about narwhals")
    data: bytes = doc.tobytes()
    return data


def pdf_with_lying_page_count() -> bytes:
    """A page tree that claims a million pages but holds a loop back to itself."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[2 0 R 3 0 R]/Count 1000000>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def gif_header_bomb() -> bytes:
    """A GIF whose logical screen and image claim 65535 x 65535 pixels."""
    screen = b"GIF89a\xff\xff\xff\xff\x00\x00\x00"
    image = b",\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02D\x01\x00;"
    return screen + image


def jpeg_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), "navy").save(buffer, format="JPEG")
    return buffer.getvalue()


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../../etc/cron.d/evil", b"\x00" * 5_000_000)
    return buffer.getvalue()


@pytest.mark.slow
def test_files_found_bad_while_ingesting_fail_alone_with_a_reason(
    world: World, tmp_path: Path
) -> None:
    """Each file fails its own document with the reason in the job; the rest is untouched."""
    many_pages = pymupdf.open()
    for _ in range(60):
        many_pages.new_page()
    jpeg = jpeg_bytes()
    cases = {
        "pages.pdf": (many_pages.tobytes(), "pdf_too_many_pages"),
        "loop.pdf": (pdf_with_lying_page_count(), "pdf_corrupt"),
        "gif.gif": (gif_header_bomb(), "image_too_large"),
        "cut.jpg": (jpeg[: len(jpeg) // 2], "image_corrupt"),
        "big.txt": (b"walrus " * 50_000, "text_too_large"),
        "nul.txt": (b"walrus\x00harbour\x00" * 100, "unsupported_media_type"),
        "noise.txt": (NOISE, "unsupported_media_type"),
        "bomb.zip": (zip_bomb(), "unsupported_media_type"),
    }
    before = world.state()
    batches = [list(cases.items())[i : i + 4] for i in range(0, len(cases), 4)]
    failed: dict[str, tuple[str, str]] = {}
    for batch in batches:
        response = upload(world.client, "c", [(name, data) for name, (data, _) in batch])
        assert response.status_code == 202, response.text
        job = wait_job(world.client, response.json()["job_id"])
        assert (job["failed"], job["done"]) == (len(batch), 0), job
        for doc in response.json()["documents"]:
            row = world.client.get(f"/v1/documents/{doc['id']}").json()
            reason = next(e["reason"] for e in job["errors"] if e["document_id"] == doc["id"])
            assert row["error"] == reason and reason
            failed[doc["filename"]] = (row["status"], row["error_code"])
    assert failed == {name: ("failed", code) for name, (_, code) in cases.items()}
    after = world.state()
    assert after["hits"] == before["hits"]
    assert (after["vectors"], after["bm25"]) == (before["vectors"], before["bm25"])
    assert world.client.get("/healthz").status_code == 200


@pytest.mark.slow
def test_hostile_files_that_can_be_read_safely_are_indexed_within_bounds(world: World) -> None:
    """Oversized pages, invalid UTF-8 and deep nesting are read with bounded cost."""
    cases = {
        "huge-page.pdf": pdf_with_page_size(14_400),  # 200 x 200 inches
        "latin1.txt": "café walrus naïve harbour façade".encode("latin-1") * 20,
        "nested.html": b"<html><body>" + b"<div>" * 20_000 + b"walrus" + b"</div>" * 20_000,
        "nested.md": b"# Title\n\n" + b"> " * 5_000 + b"walrus harbour\n\n- *a* [b](c)\n",
    }
    response = upload(world.client, "c", list(cases.items()))
    assert response.status_code == 202, response.text
    job = wait_job(world.client, response.json()["job_id"])
    assert (job["done"], job["failed"]) == (len(cases), 0), job["errors"]
    ids = {d["filename"]: d["id"] for d in response.json()["documents"]}
    page = world.client.get(f"/v1/documents/{ids['huge-page.pdf']}").json()["segments"]
    render = next(s for s in page if s["modality"] == "page_image")
    from PIL import Image

    picture = Image.open(io.BytesIO(world.client.get(render["media_url"]).content))
    assert picture.width * picture.height <= world.settings.max_image_pixels
    latin = world.client.get(f"/v1/documents/{ids['latin1.txt']}").json()
    assert "café" in latin["segments"][0]["text"]


@pytest.mark.slow
def test_bulk_import_skips_what_it_must_not_read(world: World, tmp_path: Path) -> None:
    """Folders with a FIFO, a symlink loop and a dangling link import without hanging."""
    folder = tmp_path / "import"
    (folder / "sub").mkdir(parents=True)
    (folder / "ok.txt").write_text("a walrus in the import folder")
    os.mkfifo(folder / "pipe.txt")  # reading it would block forever
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    before = world.state()
    job_id, accepted, unread = enqueue_paths(world.settings, [folder, tmp_path / "missing"], "c")
    assert accepted == 1
    assert [(p.name, reason) for p, reason in unread] == [("missing", "no such file or directory")]
    assert wait_job(world.client, job_id)["done"] == 1
    assert world.state()["documents"] == before["documents"] + 1
    with pytest.raises(Exception, match="invalid collection name"):
        enqueue_paths(world.settings, [folder], "../etc")
