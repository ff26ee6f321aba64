"""The same ingestion on the scale-out settings: PostgreSQL catalog, Redis or RabbitMQ broker."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from mmrag.settings import Settings
from tests.conftest import REDIS_URL, make_settings
from tests.e2e.conftest import upload, wait_job

pytestmark = pytest.mark.services


@pytest.fixture(params=["redis", "amqp"])
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> Iterator[Settings]:
    if request.param == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()
        broker = REDIS_URL
    else:
        broker = "amqp://guest:guest@127.0.0.1:5672//"
    # A stale message from an earlier run names a document this catalog lacks: a no-op.
    yield make_settings(tmp_path / "data", catalog_url=postgres_url, broker_url=broker)


def test_ingest_and_search_on_postgres_with_a_server_broker(
    client: TestClient, worker: subprocess.Popen[bytes]
) -> None:
    readiness = client.get("/readyz").json()["checks"]
    assert readiness["catalog"]["backend"] == "postgresql" and readiness["broker"]["up"]
    client.post("/v1/collections", json={"name": "c"})
    token = uuid.uuid4().hex[:8]
    body = upload(
        client,
        "c",
        [("a.txt", f"aurora {token}".encode()), ("b.txt", b""), ("c.md", b"# H\n\nbody")],
    ).json()
    job = wait_job(client, body["job_id"])
    assert (job["done"], job["failed"]) == (2, 1)
    assert job["errors"][0]["filename"] == "b.txt"
    hits = client.post(
        "/v1/search", json={"collection": "c", "query": {"text": token}, "channels": {"bm25": 1}}
    ).json()
    assert [h["document_id"] for h in hits["hits"]] == [body["documents"][0]["id"]]
