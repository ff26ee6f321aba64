"""/metrics in Prometheus format, request ids in responses and in the worker's JSON logs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import settings_env
from tests.e2e.conftest import upload, wait_job


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_documents_queues_and_indexes(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        before = samples(client.get("/metrics").text)  # histograms are per process
        assert client.post("/v1/collections", json={"name": "m"}).status_code == 201
        upload(client, "m", [("a.txt", b"alpha beta"), ("b.md", b"# T\n\ngamma")])
        client.get("/v1/documents/no-such-document")
        response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    created = ("route", "/v1/collections"), ("method", "POST"), ("status", "201")
    missing = ("route", "/v1/documents/{document_id}"), ("method", "GET"), ("status", "404")
    for labels in (created, missing):
        key = ("mmrag_http_request_duration_seconds_count", tuple(sorted(labels)))
        assert found[key] - before.get(key, 0.0) == 1
    assert found[("mmrag_documents", (("kind", "other"), ("status", "queued")))] == 2
    assert found[("mmrag_queue_depth", (("queue", "extract"),))] == 2  # no worker yet
    assert found[("mmrag_index_entries", (("index", "bm25"),))] == 0


def test_request_id_is_echoed_and_reaches_the_worker_logs(
    settings: Settings, tmp_path: Path
) -> None:
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log_file:
        worker = subprocess.Popen(
            [sys.executable, "-m", "mmrag", "worker", "--loglevel=INFO"],
            env=settings_env(settings), stderr=log_file, stdout=log_file,
            start_new_session=True,
        )  # fmt: skip
        try:
            with TestClient(create_app(settings)) as client:
                client.post("/v1/collections", json={"name": "r"})
                response = client.post(
                    "/v1/collections/r/documents",
                    files=[("files", ("a.txt", b"traced words"))],
                    headers={"X-Request-ID": "req-7f3a"},
                )
                assert response.headers["x-request-id"] == "req-7f3a"
                wait_job(client, response.json()["job_id"])
                fresh = client.get("/healthz").headers["x-request-id"]
                assert len(fresh) == 32 and fresh != "req-7f3a"
                spoofed = client.get("/healthz", headers={"X-Request-ID": "a b\x7f" * 100})
                assert len(spoofed.headers["x-request-id"]) == 32  # not echoed as given
            deadline = time.monotonic() + 10
            lines: list[dict[str, object]] = []
            while time.monotonic() < deadline:
                lines = [
                    json.loads(x) for x in log_path.read_text().splitlines() if x.startswith("{")
                ]
                if any(x.get("message", "").startswith("index done") for x in lines):  # type: ignore[union-attr]
                    break
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    traced = [x for x in lines if x.get("request_id") == "req-7f3a"]
    assert {str(x["message"]).split()[0] for x in traced} >= {"extract", "embed", "index"}, lines
