"""The per-image decode budget through the REST API and a real worker: an image whose decoded
pixels would exceed MMRAG_MAX_IMAGE_DECODE_BYTES fails alone with a reason naming the
setting (a JPEG decodes reduced instead), and a query image over it gets a clear 422."""

from __future__ import annotations

import base64
import io
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from ingest.image_decode import decoded_bytes
from mmrag.settings import Settings
from tests.conftest import make_settings
from tests.e2e.conftest import upload, wait_job
from tests.media import png_bytes

SIDE = 1600  # 10 MB once decoded: over the 4 MB budget below, far under the pixel limit
BUDGET = 4_000_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", max_image_decode_bytes=BUDGET)


def _jpeg(side: int) -> bytes:
    image = Image.new("RGB", (side, side), "navy")
    ImageDraw.Draw(image).ellipse((100, 100, side - 100, side - 100), fill="orange")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.slow
def test_images_over_the_decode_budget(client: TestClient, worker: subprocess.Popen[bytes]) -> None:
    assert decoded_bytes((SIDE, SIDE), "RGB") > BUDGET
    client.post("/v1/collections", json={"name": "c"})
    files = [
        ("big.png", png_bytes(SIDE, SIDE)),
        ("big.jpg", _jpeg(SIDE)),
        ("small.png", png_bytes()),
    ]
    response = upload(client, "c", files)
    assert response.status_code == 202, response.text
    job = wait_job(client, response.json()["job_id"])
    assert (job["done"], job["failed"]) == (2, 1), job
    (error,) = job["errors"]
    assert error["filename"] == "big.png"
    assert "MMRAG_MAX_IMAGE_DECODE_BYTES" in error["reason"] and str(BUDGET) in error["reason"]
    ids = {d["filename"]: d["id"] for d in response.json()["documents"]}
    assert client.get(f"/v1/documents/{ids['big.png']}").json()["error_code"] == "image_too_large"
    jpeg = client.get(f"/v1/documents/{ids['big.jpg']}").json()
    assert jpeg["status"] == "indexed"
    assert (jpeg["metadata"]["width"], jpeg["metadata"]["height"]) == (SIDE, SIDE)

    as_query = base64.b64encode(_jpeg(SIDE)).decode()
    found = client.post("/v1/search", json={"collection": "c", "query": {"image": as_query}})
    assert found.status_code == 200, found.text
    assert ids["big.jpg"] in {h["document_id"] for h in found.json()["hits"]}
    too_big = base64.b64encode(png_bytes(SIDE, SIDE)).decode()
    refused = client.post("/v1/search", json={"collection": "c", "query": {"image": too_big}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "bad_query_image"
    assert "MMRAG_MAX_IMAGE_DECODE_BYTES" in refused.json()["error"]["message"]
    assert client.get("/healthz").status_code == 200
