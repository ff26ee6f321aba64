"""mmrag.client and the CLI's --url mode against a real `mmrag serve` (API + worker) with
API keys on."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmrag.client import Client, ClientError
from mmrag.local_server import MARKER_NAME
from mmrag.settings import Settings
from tests.conftest import settings_env
from tests.e2e.conftest import start_serve
from tests.media import write_pdf


def mmrag(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmrag", *args],
        env={**settings_env(settings), **(env or {})}, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[str, str]]:
    """A served instance with one admin key: yields (base URL, key)."""
    created = mmrag(settings, "keys", "create", "tests", "--role", "admin")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    proc, base = start_serve(settings)
    try:
        yield base, key
    finally:
        proc.stop()
    assert not (settings.data_dir / MARKER_NAME).exists()  # removed when serve stops


def test_client_and_remote_cli(server: tuple[str, str], settings: Settings, tmp_path: Path) -> None:
    base, key = server
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_pdf(corpus / "herons.pdf", ["The grey heron stands motionless in shallow water."])
    (corpus / "kingfisher.txt").write_text("The kingfisher dives for small fish from a perch.")

    with Client(base, key) as client:
        client.create_collection("birds")
        seen: list[tuple[int, int]] = []
        accepted = client.upload(
            "birds", sorted(corpus.iterdir()), progress=lambda s, t: seen.append((s, t))
        )
        total = sum(p.stat().st_size for p in corpus.iterdir())
        assert seen and seen[-1] == (total, total)
        job = client.wait_job(accepted["job_id"], timeout=120)
        assert (job["done"], job["failed"]) == (2, 0)
        hits = client.search("kingfisher fish", collection="birds", k=3)["hits"]
        assert "kingfisher" in hits[0]["text"]
        answer = client.answer("What does the kingfisher dive for?", collection="birds")
        assert not answer["abstained"] and answer["citations"]
        events = list(
            client.answer("What does the kingfisher dive for?", collection="birds", stream=True)
        )
        assert events[-1][0] == "answer" and {e for e, _ in events[:-1]} <= {"token"}
        with pytest.raises(ClientError) as missing:
            client.document("nope")
        assert (missing.value.status, missing.value.code) == (404, "document_not_found")
    with Client(base, "mmrag_0000_wrong") as stranger, pytest.raises(ClientError) as denied:
        stranger.collections()
    assert (denied.value.status, denied.value.code) == (401, "invalid_api_key")

    remote = ("--url", base, "--api-key", key)
    more = tmp_path / "more"
    more.mkdir()
    (more / "egret.md").write_text("# Egret\n\nThe little egret wades through the marsh.")
    (more / "empty.txt").write_bytes(b"")
    ingested = mmrag(settings, "ingest", str(more), "-c", "birds", *remote)
    assert ingested.returncode == 1, ingested.stderr  # empty.txt fails
    assert "indexed 1, skipped 0 (already present), failed 1 of 2" in ingested.stderr
    found = mmrag(settings, "search", "egret marsh", "-c", "birds", *remote)
    # The text column is cut to fit the terminal: "# Egret The little…" may be all it shows.
    assert found.returncode == 0 and "egret" in found.stdout.lower(), found.stdout
    asked = mmrag(settings, "ask", "What does the egret wade through?", "-c", "birds", *remote)
    assert asked.returncode == 0 and "marsh" in asked.stdout and "[1]" in asked.stdout
    refused = mmrag(settings, "search", "egret", "--url", base, "--api-key", "mmrag_1_bad")
    assert refused.returncode == 2 and "invalid_api_key" in refused.stderr
    check_cli_uses_the_running_server(settings, base, key)


def check_cli_uses_the_running_server(settings: Settings, base: str, key: str) -> None:
    """Without --url, search and ask go to the server whose marker is in the data dir."""
    marker = json.loads((settings.data_dir / MARKER_NAME).read_text())
    assert marker["url"] == base and marker["pid"] > 0
    wide = {"COLUMNS": "80"}
    found = mmrag(settings, "search", "egret marsh", "--api-key", key, "--explain", env=wide)
    assert found.returncode == 0, found.stderr
    assert f"answered by the server running at {base}" in found.stderr
    assert "Egret" in found.stdout, found.stdout
    assert all(len(line) <= 80 for line in found.stdout.splitlines()), found.stdout
    assert "bm25:1/" in found.stdout  # the local command's table, --explain included
    asked = mmrag(settings, "ask", "What does the egret wade through?", "-c", "birds",
                  "--api-key", key, env=wide)  # fmt: skip
    assert asked.returncode == 0 and "marsh" in asked.stdout, asked.stderr
    assert f"answered by the server running at {base}" in asked.stderr
    # Without the key the server refuses: the command says so and searches in-process.
    alone = mmrag(settings, "search", "egret marsh", "-c", "birds", env=wide)
    assert alone.returncode == 0, alone.stderr
    assert "needs an API key" in alone.stderr and "Egret" in alone.stdout, alone.stdout
