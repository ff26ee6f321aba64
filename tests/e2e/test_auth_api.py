"""API keys: created with the CLI, stored hashed, scoped to collections and roles; 401
without a valid key, 403 outside its grants; a public bind without keys refuses to start."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from mmrag.catalog import keys
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import ApiKeyRow
from mmrag.settings import Settings
from tests.conftest import settings_env
from tests.e2e.conftest import free_port, upload


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


def test_revoking_the_last_key_locks_the_service(settings: Settings) -> None:
    created = mmrag(settings, "keys", "create", "only", "--role", "admin")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/collections", headers=bearer(key)).status_code == 200
        assert mmrag(settings, "keys", "revoke", key.split("_")[1]).returncode == 0
        time.sleep(2.1)  # the key answers are cached for 2 s
        listed = client.get("/v1/collections")
        assert listed.status_code == 401, listed.text
        assert listed.json()["error"]["code"] == "missing_api_key"
        assert "revoked" in listed.json()["error"]["message"]
        made = client.post("/v1/collections", json={"name": "x"})
        assert made.status_code == 401
        assert client.get("/v1/collections", headers=bearer(key)).status_code == 401
        assert client.get("/healthz").status_code == 200  # probes stay open
        assert client.get("/readyz").status_code in (200, 503)
    refused = mmrag(settings, "serve", "--host", "0.0.0.0", "--port", "8765", "--no-worker")
    assert refused.returncode == 2 and "every API key is revoked" in refused.stderr

    again = mmrag(settings, "keys", "create", "next", "--role", "admin").stdout.strip()
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/collections", headers=bearer(again)).status_code == 200
        assert client.get("/v1/collections").status_code == 401
        # The header rule: other Authorization schemes are ignored, two different keys refused.
        proxy_basic = {"Authorization": "Basic dXNlcjpwdw==", "X-API-Key": again}
        assert client.get("/v1/collections", headers=proxy_basic).status_code == 200
        both = {**bearer(again), "X-API-Key": again}
        assert client.get("/v1/collections", headers=both).status_code == 200
        conflict = client.get("/v1/collections", headers={**bearer("junk"), "X-API-Key": again})
        assert conflict.status_code == 401
        assert conflict.json()["error"]["code"] == "conflicting_api_keys"


def test_keyless_service_refuses_clients_of_other_machines(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, client=("192.0.2.7", 40000)) as remote:
        refused = remote.get("/v1/collections")
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "keyless_remote_client"
        assert remote.post("/v1/collections", json={"name": "x"}).status_code == 403
        assert remote.get("/healthz").status_code == 200
    for local in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        with TestClient(create_app(settings), client=(local, 40000)) as client:
            assert client.get("/v1/collections").status_code == 200, local


def test_keyless_app_under_plain_uvicorn_refuses_forwarded_remote_clients(
    settings: Settings,
) -> None:
    """``uvicorn api.app:create_app --factory``: no ``mmrag serve`` check in front. uvicorn
    trusts X-Forwarded-For from 127.0.0.1 (a local proxy), so the client it reports is the
    remote one, and no packet has to leave the loopback interface for the test."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=settings_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, server)
        forwarded = {"X-Forwarded-For": "198.51.100.4"}
        refused = httpx.post(f"{base}/v1/collections", json={"name": "x"}, headers=forwarded)
        assert refused.status_code == 403 and "198.51.100.4" in refused.text
        assert httpx.post(f"{base}/v1/collections", json={"name": "x"}).status_code == 201
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.2)


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
        # Another collection's blob reads as missing: its existence is not told.
        media = client.get(f"/v1/media/{ok['sha256']}", headers=bearer(reader))
        absent = client.get(f"/v1/media/{'0' * 64}", headers=bearer(reader))
        assert media.status_code == absent.status_code == 404
        assert media.json() == absent.json() | {
            "error": absent.json()["error"] | {"message": f"no media with key {ok['sha256']}"}
        }
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
