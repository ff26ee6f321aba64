"""API keys: created with the CLI, stored hashed, scoped to collections and roles; 401
without a valid key, 403 outside its grants; a public bind without keys refuses to start."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from mmrag.catalog import keys
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import ApiKeyRow
from mmrag.settings import Settings
from tests.conftest import settings_env
from tests.e2e.conftest import upload


def mmrag(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmrag", *args],
        env=settings_env(settings), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_public_bind_without_keys_refuses_to_start(settings: Settings) -> None:
    result = mmrag(settings, "serve", "--host", "0.0.0.0", "--port", "8765", "--no-worker")
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr and "mmrag keys create" in result.stderr


def test_keys_gate_every_route_by_role_and_collection(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        for name in ("a", "b"):  # no keys yet: open, as on 127.0.0.1 by default
            assert client.post("/v1/collections", json={"name": name}).status_code == 201
        doc_b = upload(client, "b", [("b.txt", b"secret plans for b")]).json()["documents"][0]

        created = mmrag(settings, "keys", "create", "admin", "--role", "admin")
        assert created.returncode == 0, created.stderr
        admin = created.stdout.strip()
        catalog = Catalog(settings.resolved_catalog_url)
        with catalog.session() as session:
            _, reader = keys.create_key(session, "reader", keys.parse_grants("read", ["a"]))
            _, writer = keys.create_key(session, "writer", keys.parse_grants("write", ["a"]))
            stored = session.scalars(select(ApiKeyRow.secret_sha256)).all()
        secret = admin.split("_", 2)[2]
        assert hashlib.sha256(secret.encode()).hexdigest() in stored and admin not in str(stored)
        time.sleep(2.1)  # the "any keys?" answer is cached for 2 s

        assert client.get("/healthz").status_code == 200  # probes stay open
        missing = client.get("/v1/collections")
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
        wrong = client.get("/v1/collections", headers=bearer(admin[:-2] + "xx"))
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        assert client.get("/metrics").status_code == 401

        listed = client.get("/v1/collections", headers=bearer(reader)).json()
        assert [c["name"] for c in listed] == ["a"]
        search = {"collection": "b", "query": {"text": "plans"}}
        denied = client.post("/v1/search", json=search, headers=bearer(reader))
        assert denied.status_code == 403 and "'b'" in denied.json()["error"]["message"]
        assert (
            client.post("/v1/search", json=search, headers={"X-API-Key": admin}).status_code == 200
        )
        assert client.get(f"/v1/documents/{doc_b['id']}", headers=bearer(reader)).status_code == 403
        ok = client.get(f"/v1/documents/{doc_b['id']}", headers=bearer(admin)).json()
        media = client.get(f"/v1/media/{ok['sha256']}", headers=bearer(reader))
        assert media.status_code == 403
        files = [("files", ("n.txt", b"note"))]
        up = client.post("/v1/collections/a/documents", files=files, headers=bearer(reader))
        assert up.status_code == 403
        up = client.post("/v1/collections/a/documents", files=files, headers=bearer(writer))
        assert up.status_code == 202
        job = client.get(f"/v1/jobs/{up.json()['job_id']}", headers=bearer(reader))
        assert job.status_code == 200
        create = client.post("/v1/collections", json={"name": "c"}, headers=bearer(writer))
        assert create.status_code == 403
        assert client.get("/metrics", headers=bearer(reader)).status_code == 403
        assert client.get("/metrics", headers=bearer(admin)).status_code == 200

        listed_keys = mmrag(settings, "keys", "list")
        assert "reader" in listed_keys.stderr and "read: a" in listed_keys.stderr
        reader_id = reader.split("_")[1]
        assert mmrag(settings, "keys", "revoke", reader_id).returncode == 0
        time.sleep(2.1)
        gone = client.get("/v1/collections", headers=bearer(reader))
        assert gone.status_code == 401 and gone.json()["error"]["code"] == "invalid_api_key"
        unknown = mmrag(settings, "keys", "revoke", "nope")
        assert unknown.returncode == 2 and "key_not_found" in unknown.stderr
        catalog.engine.dispose()
