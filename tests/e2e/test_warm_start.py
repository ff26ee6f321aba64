"""The API loads its query encoders before it accepts requests (MMRAG_WARM_BEFORE_SERVING_S):
the first search pays for no model load (issue 16: first search right after /healthz)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import make_settings


def test_first_search_after_start_waits_for_no_model(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", spaces=["text"], warm_before_serving_s=300)
    with TestClient(create_app(settings)) as client:  # returns once the lifespan started
        text = client.get("/readyz").json()["checks"]["spaces"]["text"]
        assert text["up"] is True, text  # loaded before the first request, not "loading"
        assert client.post("/v1/collections", json={"name": "c"}).status_code == 201
        found = client.post("/v1/search", json={"collection": "c", "query": {"text": "heron"}})
        assert found.status_code == 200, found.text
        phases = [part.split(";")[0].strip() for part in found.headers["server-timing"].split(",")]
        assert "encode" in phases and "load" not in phases, phases
