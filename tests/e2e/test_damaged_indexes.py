"""Damaged embedded indexes (a truncated FAISS record log, a truncated tantivy segment file):
search answers from the other channels and names the fix, /readyz says which store, and
`mmrag reindex` rebuilds it from the catalog while the service runs; ingestion goes on."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from index.bm25.tantivy_index import TantivyBM25
from index.filters import Filter
from index.stores.faiss import FaissStore
from mmrag.catalog import collections, documents
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import SegmentRow
from mmrag.cli import app
from mmrag.settings import Settings
from tests.conftest import make_settings, settings_env
from tests.e2e.conftest import upload, wait_job


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", spaces=["text"])


def truncate(path: Path) -> None:
    """Leave the first half of ``path`` in its place, as a cut-short copy or write would."""
    half = path.read_bytes()[: path.stat().st_size // 2]
    temp = path.with_name(path.name + ".cut")
    temp.write_bytes(half)
    os.replace(temp, path)  # a new inode: processes that mapped the old file keep theirs


def search(client: TestClient, text: str) -> dict[str, Any]:
    response = client.post(
        "/v1/search",
        json={"collection": "c", "query": {"text": text}, "channels": {"bm25": 1, "text": 1}},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def reindex(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mmrag", "reindex", *args, "-c", "c"],
        env={**settings_env(settings), "COLUMNS": "100"},
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def channels(body: dict[str, Any]) -> set[str]:
    return {name for hit in body["hits"] for name in hit["channels"]}


@pytest.mark.slow
def test_damaged_stores_degrade_and_reindex_heals_them(
    settings: Settings, client: TestClient, worker: subprocess.Popen[bytes]
) -> None:
    client.post("/v1/collections", json={"name": "c"})
    files = [("a.txt", b"harbour lights at dusk"), ("b.txt", b"the pump moves cooling water")]
    assert wait_job(client, upload(client, "c", files).json()["job_id"])["done"] == 2

    truncate(sorted((settings.index_dir / "bm25").glob("*.idx"))[0])  # before the API opens it
    body = search(client, "harbour lights")
    assert channels(body) == {"text"} and body["hits"][0]["text"] == "harbour lights at dusk"
    assert len(body["degraded"]) == 1, body["degraded"]
    [reason] = body["degraded"]
    assert reason.startswith("bm25: tantivy index is damaged") and ".idx" in reason
    assert "mmrag reindex --bm25" in reason
    ready = client.get("/readyz")
    bm25 = ready.json()["checks"]["bm25"]
    assert ready.status_code == 503 and not bm25["up"] and "mmrag reindex --bm25" in bm25["reason"]

    assert "reindexed bm25: 2 documents" in reindex(settings, "--bm25")
    body = search(client, "harbour lights")
    assert body["degraded"] == [] and channels(body) == {"bm25", "text"}

    log = settings.index_dir / "faiss" / "records.sqlite"
    with closing(sqlite3.connect(log)) as db:  # every page into the file, then cut it
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.truncate(log, log.stat().st_size // 2)
    with TestClient(create_app(settings)) as restarted:  # a service started on the damage
        body = search(restarted, "harbour lights")
        assert channels(body) == {"bm25"} and body["hits"][0]["text"] == "harbour lights at dusk"
        assert len(body["degraded"]) == 1, body["degraded"]
        [reason] = body["degraded"]
        assert reason.startswith("text: faiss index is damaged")
        assert "mmrag reindex --vectors" in reason
        ready = restarted.get("/readyz")
        vectors = ready.json()["checks"]["vectors"]
        assert ready.status_code == 503 and not vectors["up"] and "truncated" in vectors["reason"]

        assert "reindexed text: 2 documents" in reindex(settings, "--vectors", "text")
        for app_ in (restarted, client):  # one never opened the log, one had loaded the old one
            body = search(app_, "harbour lights")
            assert body["degraded"] == [] and channels(body) == {"bm25", "text"}
        assert restarted.get("/readyz").status_code == 200

        more = upload(restarted, "c", [("c.txt", b"a lighthouse keeper at the harbour")])
        assert wait_job(restarted, more.json()["job_id"])["done"] == 1
        body = search(restarted, "lighthouse keeper")
        assert body["degraded"] == [] and body["hits"][0]["text"].startswith("a lighthouse")
        assert body["hits"][0]["channels"].keys() == {"bm25", "text"}


def test_reindex_fills_indexes_from_the_catalog_and_refuses_unknown_names(
    settings: Settings,
) -> None:
    catalog = Catalog(settings.resolved_catalog_url)
    with catalog.session() as session:
        collection = collections.ensure_collection(session, "c")
        doc = documents.register_document(
            session, collection_id=collection.id, job_id=None, filename="a.txt",
            blob_key="0" * 64, size=1,
        ).document  # fmt: skip
        row = SegmentRow(id=f"{doc.id}-000000", document_id=doc.id, ordinal=0,
                         modality="text", text="harbour lights", locator={})  # fmt: skip
        documents.replace_segments(session, doc.id, [row])
    catalog.dispose()
    env = settings_env(settings)
    done = CliRunner().invoke(app, ["reindex", "--bm25", "-c", "c"], env=env)
    assert done.exit_code == 0 and "reindexed bm25: 1 documents" in done.output, done.output
    hits = TantivyBM25(settings.index_dir / "bm25").search("harbour", 5, Filter())
    assert [hit.segment_id for hit in hits] == [f"{doc.id}-000000"]
    # A space enabled after the documents were indexed is filled in place.
    done = CliRunner().invoke(app, ["reindex", "--vectors", "text"], env=env)
    assert done.exit_code == 0 and "reindexed text: 1 documents" in done.output, done.output
    assert FaissStore.from_settings(settings).count("text") == 1
    nope = CliRunner().invoke(app, ["reindex", "--bm25", "-c", "nope"], env=env)
    assert nope.exit_code == 2 and "not_found" in nope.output
    space = CliRunner().invoke(app, ["reindex", "--vectors", "image"], env=env)
    assert space.exit_code == 2 and "unknown_space" in space.output
