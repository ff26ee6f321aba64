"""Hybrid search through the REST API: channels, fusion, filters, explain, media queries,
and the bad input the search endpoint must refuse clearly."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import make_settings
from tests.e2e.conftest import upload, wait_job
from tests.media import png_bytes
from tests.media_audio import wav_bytes


def search(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post("/v1/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.slow
def test_hybrid_search_filters_explain_and_media_queries(
    client: TestClient, worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    fields = {"team": "keyword", "year": "integer"}
    client.post("/v1/collections", json={"name": "a", "metadata_fields": fields})
    client.post("/v1/collections", json={"name": "b"})
    red, blue = png_bytes(200, 200, "red"), png_bytes(200, 200, "navy")
    ops = upload(
        client,
        "a",
        [("ops.txt", b"The pump station moves cooling water."), ("red.png", red)],
        metadata='{"team": "ops", "year": 2021}',
    )
    dev = upload(client, "a", [("dev.txt", b"Our build pipeline compiles the firmware.")],
                 metadata='{"team": "dev", "year": 2024}')  # fmt: skip
    other = upload(client, "b", [("b.txt", b"A heat pump in the garden shed."),
                                 ("blue.png", blue)])  # fmt: skip
    for body in (ops.json(), dev.json(), other.json()):
        assert wait_job(client, body["job_id"])["done"] == len(body["documents"])
    ops_txt, red_png = (d["id"] for d in ops.json()["documents"])
    blue_png = other.json()["documents"][1]

    both = search(client, collections=["a", "b"], query={"text": "pump"}, k=10, explain=True)
    top = both["hits"][0]
    assert {h["collection"] for h in both["hits"]} == {"a", "b"}
    assert set(top["explain"]) == set(top["channels"]) and "bm25" in top["explain"]
    assert top["explain"]["bm25"]["rank"] == top["channels"]["bm25"]
    assert both["degraded"] == []

    only_ops = search(client, collection="a", query={"text": "pump"},
                      filters={"metadata": {"team": "ops"}})  # fmt: skip
    assert {h["document_id"] for h in only_ops["hits"]} <= {ops_txt, red_png}
    recent = search(client, collection="a", query={"text": "pump"}, channels={"text": 1},
                    filters={"metadata": {"year": {"gte": 2023}}})  # fmt: skip
    assert [h["text"] for h in recent["hits"]] == ["Our build pipeline compiles the firmware."]
    images = search(client, collection="a", query={"text": "pump"},
                    filters={"modalities": ["image"]})  # fmt: skip
    assert [h["document_id"] for h in images["hits"]] == [red_png]
    future = search(client, collection="a", query={"text": "pump"},
                    filters={"created": {"gte": "2999-01-01"}})  # fmt: skip
    assert future["hits"] == []

    grouped = search(client, collections=["a", "b"], query={"text": "pump water"}, k=10,
                     group_by_document=True)  # fmt: skip
    documents = [h["document_id"] for h in grouped["hits"]]
    assert len(documents) == len(set(documents))

    # Image -> image: the same picture is its own nearest neighbour in the image space.
    b64 = base64.b64encode(blue).decode()
    by_image = search(client, collections=["a", "b"], query={"image": b64}, k=3)
    assert by_image["hits"][0]["document_id"] == blue_png["id"]
    assert set(by_image["hits"][0]["channels"]) == {"image"}
    multipart = client.post(
        "/v1/search",
        data={"request": json.dumps({"collections": ["a", "b"], "k": 3})},
        files={"image": ("q.png", blue, "image/png")},
    )
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["hits"][0]["document_id"] == blue_png["id"]
    assert "encode;dur=" in multipart.headers["server-timing"]

    # Audio: decoded and searched in the audio space (no audio indexed yet: no hits there).
    by_sound = search(
        client, collection="a", query={"audio": base64.b64encode(wav_bytes()).decode()}
    )
    assert by_sound["hits"] == [] and by_sound["degraded"] == []


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", max_k=50, max_query_audio_seconds=2.0)


def test_search_bad_input_gets_clear_422s(client: TestClient) -> None:
    client.post("/v1/collections", json={"name": "c", "metadata_fields": {"team": "keyword"}})
    not_image = base64.b64encode(b"definitely not a picture").decode()
    not_audio = base64.b64encode(b"RIFF....WAVEjunk").decode()
    long_audio = base64.b64encode(wav_bytes(seconds=5)).decode()
    cases = [
        ({"collection": "c", "query": {}}, "empty_query"),
        ({"collection": "c", "query": {"text": "   "}}, "empty_query"),
        ({"collection": "c", "query": {"image": not_image}}, "bad_query_image"),
        ({"collection": "c", "query": {"image": "%%%"}}, "bad_query_media"),
        ({"collection": "c", "query": {"audio": not_audio}}, "bad_query_audio"),
        ({"collection": "c", "query": {"audio": long_audio}}, "query_audio_too_long"),
        ({"collection": "c", "query": {"text": "x"}, "k": 0}, "bad_k"),
        ({"collection": "c", "query": {"text": "x"}, "k": 51}, "bad_k"),
        ({"collection": "c", "query": {"text": "x"}, "channels": {"vibes": 1}}, "unknown_channel"),
        ({"collection": "c", "query": {"text": "x"}, "channels": {"bm25": -1}}, "bad_weight"),
        ({"collection": "c", "query": {"text": "x"}, "filters": {"metadata": {"owner": "me"}}},
         "unindexed_field"),
        ({"collection": "c", "query": {"text": "x"}, "filters": {"modalities": ["smell"]}},
         "bad_filter"),
        ({"collection": "c", "query": {"text": "x"},
          "filters": {"created": {"gte": "not a date"}}}, "bad_filter"),
        ({"collection": "c", "query": {"text": "x"},
          "filters": {"metadata": {"team": {"gte": 1}, "x": {"y": {"z": 1}}}}},
         "validation_error"),
    ]  # fmt: skip
    for body, code in cases:
        response = client.post("/v1/search", json=body)
        assert response.status_code == 422, (code, response.text)
        assert response.json()["error"]["code"] == code, (code, response.text)
    raw = client.post("/v1/search", data={"request": "{nope"}, files={"image": ("a", b"x")})
    assert raw.status_code == 422 and raw.json()["error"]["code"] == "validation_error"
    assert client.get("/healthz").status_code == 200


def test_a_disabled_space_degrades_the_search_and_says_why(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data", audio_model="no-such/clap-model", allow_random_weights=True
    )
    with TestClient(create_app(settings)) as client:
        client.post("/v1/collections", json={"name": "c"})
        body = search(client, collection="c", query={"text": "dog barking"})
        assert body["hits"] == []
        [reason] = body["degraded"]
        assert reason.startswith("audio:") and "MMRAG_AUDIO_MODEL" in reason
        ready = client.get("/readyz").json()["checks"]["spaces"]["audio"]
        assert ready["up"] is False and "MMRAG_AUDIO_MODEL" in ready["reason"]


def test_a_bm25_index_that_raises_degrades_the_search_instead_of_failing_it(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data", spaces=["text"])
    broken = settings.index_dir / "bm25"
    broken.mkdir(parents=True)
    (broken / "meta.json").write_text("{ not json")  # tantivy refuses to open this index
    with TestClient(create_app(settings)) as client:
        client.post("/v1/collections", json={"name": "c"})
        body = search(client, collection="c", query={"text": "harbour lights"})
        assert body["hits"] == []
        [reason] = [r for r in body["degraded"] if r.startswith("bm25:")]
        assert reason.startswith("bm25: tantivy index is damaged") and "meta.json" in reason
        assert "mmrag reindex --bm25" in reason
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["bm25"]["up"] is False
        assert ready.json()["checks"]["vectors"] == {
            "up": True, "backend": "faiss", "entries": {"text": 0}
        }
