"""Qdrant unreachable during ingestion: documents are retried, then fail with a retryable
reason (never silently dropped), and the API says the store is down."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import make_settings
from tests.e2e.conftest import WorkerFactory, upload, wait_job


def closed_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path / "data",
        vector_store="qdrant",
        qdrant_url=f"http://127.0.0.1:{closed_port()}",
        spaces=["text"],
        task_max_retries=1,
    )


def test_documents_fail_with_a_retryable_reason(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    start_worker()
    with TestClient(create_app(settings)) as client:
        client.post("/v1/collections", json={"name": "q"})
        accepted = upload(client, "q", [("a.txt", b"harbour lights at dusk")]).json()
        job = wait_job(client, accepted["job_id"], timeout=120)
        assert (job["done"], job["failed"]) == (0, 1), job
        reason = job["errors"][0]["reason"]
        assert "gave up after 2 attempts" in reason and "ResponseHandlingException" in reason
        document = client.get(f"/v1/documents/{accepted['documents'][0]['id']}").json()
        assert document["error_code"] == "transient_error"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["bm25"]["up"] is False
        again = upload(client, "q", [("a.txt", b"harbour lights at dusk")]).json()
        assert again["documents"][0]["id"] == accepted["documents"][0]["id"]
        assert again["documents"][0]["status"] == "queued"  # a failed document is retried


def test_a_search_with_qdrant_unreachable_is_degraded_not_a_500(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        client.post("/v1/collections", json={"name": "q"})
        both = {"collection": "q", "query": {"text": "dusk"}}
        # Every channel down (BM25 lives in Qdrant too): 503 naming it, not an empty 200.
        response = client.post("/v1/search", json=both)
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "unavailable" and "qdrant unavailable" in error["message"]
        # A disabled space is no answer either: still 503 (partial outages degrade, see
        # test_search_api's broken BM25 index).
        bm25_and_image = {**both, "channels": {"bm25": 1, "image": 1}}
        response = client.post("/v1/search", json=bm25_and_image)
        assert response.status_code == 503, response.text
        vectors = client.get("/readyz").json()["checks"]["vectors"]
        assert vectors["up"] is False and "qdrant unavailable" in vectors["reason"]
