"""Uploaded files that a browser would run (HTML, SVG, XML) come back as downloads, every
answer carries nosniff, a CSP and no-framing headers, and state changes that another
origin's page makes a browser send are refused unless they carry a key."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers.media import shown_inline
from mmrag.catalog import keys
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings
from tests.e2e.conftest import upload, wait_job
from tests.media import png_bytes

SCRIPTED = {
    "page.html": b"<!doctype html><html><body><script>alert(document.domain)</script></body>",
    "page.xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
    "pic.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "feed.xml": b'<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">'
    b"alert(1)</x:script>",
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        assert test_client.post("/v1/collections", json={"name": "c"}).status_code == 201
        yield test_client


def test_scripted_uploads_are_served_as_downloads(client: TestClient, worker: object) -> None:
    stored = upload(client, "c", list(SCRIPTED.items()))
    assert stored.status_code == 202, stored.text
    wait_job(client, stored.json()["job_id"])
    served = {}
    for name, content in SCRIPTED.items():
        media = client.get(f"/v1/media/{hashlib.sha256(content).hexdigest()}")
        assert media.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in media.headers["content-security-policy"]
        if media.status_code == 404:  # never indexed (SVG is not supported): never served
            continue
        assert media.content == content  # the original, untouched
        served[name] = media.headers["content-type"], media.headers.get("content-disposition")
    for name in ("page.html", "page.xhtml"):  # indexed as HTML
        kind, disposition = served[name]
        assert kind == "application/octet-stream", name
        assert disposition and disposition.startswith("attachment;"), name
    assert all(
        k == "application/octet-stream" or k.startswith("text/plain") for k, _ in served.values()
    )


@pytest.mark.parametrize(
    "kind", ["text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
             "application/octet-stream", "application/javascript"]
)  # fmt: skip
def test_types_a_browser_could_run_are_never_inline(kind: str) -> None:
    assert not shown_inline(kind)


def test_pictures_and_text_stay_inline_and_sandboxed(client: TestClient, worker: object) -> None:
    passive = [
        ("p.png", png_bytes(), "image/png"),
        ("n.txt", b"a plain note about walruses", "text/plain"),
    ]
    stored = upload(client, "c", [(name, content) for name, content, _ in passive])
    wait_job(client, stored.json()["job_id"])
    for _, content, kind in passive:
        media = client.get(f"/v1/media/{hashlib.sha256(content).hexdigest()}")
        assert media.headers["content-type"].startswith(kind)
        assert "content-disposition" not in media.headers
        assert media.headers["content-security-policy"].endswith("sandbox")


def test_every_answer_forbids_sniffing_and_framing(client: TestClient) -> None:
    for path in ("/", "/ui/app.js", "/v1/collections", "/healthz", "/v1/nowhere"):
        answer = client.get(path)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
    ui_policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in ui_policy and "unsafe-inline" not in ui_policy
    assert (
        client.get("/v1/collections")
        .headers["content-security-policy"]
        .startswith("default-src 'none'")
    )


@pytest.mark.parametrize(
    "sent_by",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://testserver:9999"},  # another port
        {"Origin": "http://127.0.0.1:9999"},  # a browser without Fetch Metadata
        {"Origin": "null"},  # a sandboxed frame or a file:// page
    ],
)
def test_state_changes_from_another_origin_are_refused(
    client: TestClient, sent_by: dict[str, str]
) -> None:
    refused = client.post(
        "/v1/collections/c/documents", files=[("files", ("x.html", b"<p>x"))], headers=sent_by
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "cross_site_request"
    assert refused.headers["x-content-type-options"] == "nosniff"
    gone = client.delete("/v1/documents/anything", headers=sent_by)
    assert gone.status_code == 403
    assert client.get("/v1/collections/c/documents").json()["documents"] == []
    assert client.get("/v1/collections", headers=sent_by).status_code == 200  # reads pass


def test_own_pages_and_other_clients_may_change_state(client: TestClient) -> None:
    own: list[dict[str, str]] = [
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        {"Sec-Fetch-Site": "none"},  # typed by the user
        {"Origin": "http://testserver"},
        {},  # curl, the Python client
    ]
    for number, sent_by in enumerate(own):
        made = client.post("/v1/collections", json={"name": f"k{number}"}, headers=sent_by)
        assert made.status_code == 201, (sent_by, made.text)


def test_a_key_authorises_a_cross_origin_state_change(
    client: TestClient, settings: Settings
) -> None:
    catalog = Catalog(settings.resolved_catalog_url)
    with catalog.session() as session:
        _, key = keys.create_key(session, "admin", keys.parse_grants("admin", []))
    catalog.dispose()
    time.sleep(2.1)  # the API caches "are keys required?" for 2 s
    sent_by = {"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example"}
    keyed = client.post(
        "/v1/collections", json={"name": "d"}, headers={**sent_by, "X-API-Key": key}
    )
    assert keyed.status_code == 201, keyed.text
    wrong = client.post(
        "/v1/collections", json={"name": "e"}, headers={**sent_by, "X-API-Key": "mmrag_x_y"}
    )
    assert wrong.status_code == 401
