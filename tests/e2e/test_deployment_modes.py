"""Deployment modes that cannot work are refused at start, in one line naming the setting,
before anything is written to the data directory; commands run from any folder write only
where --data-dir says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import make_settings, settings_env

QDRANT_LOCAL = {"vector_store": "qdrant"}  # no qdrant_url: local mode, one process only
ROOT = Path(__file__).resolve().parents[2]


def mmrag(settings: Settings, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``mmrag`` from ``cwd`` (this checkout's code, wherever the folder is)."""
    return subprocess.run(
        [sys.executable, "-m", "mmrag", *args],
        env={**settings_env(settings), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    "command",
    [["serve", "--port", "9"], ["worker"], ["ingest", "--collection", "c", "--no-wait", "."]],
    ids=["serve", "worker", "ingest"],
)
def test_qdrant_local_mode_is_refused_by_service_commands(
    tmp_path: Path, command: list[str]
) -> None:
    settings = make_settings(tmp_path / "data", **QDRANT_LOCAL)
    result = mmrag(settings, *command, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    [line] = [text for text in result.stderr.splitlines() if text.strip()]
    assert line.startswith("refusing to start") and "MMRAG_QDRANT_URL" in line, line
    assert "MMRAG_VECTOR_STORE=faiss" in line
    assert not settings.data_dir.exists()  # refused before anything was written


def test_the_api_app_started_another_way_says_so_in_readyz(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", **QDRANT_LOCAL)
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        deployment = ready.json()["checks"]["deployment"]
        assert deployment["up"] is False and "MMRAG_QDRANT_URL" in deployment["reason"]


def test_a_qdrant_server_and_the_default_faiss_store_are_accepted(tmp_path: Path) -> None:
    for overrides in ({}, {"vector_store": "qdrant", "qdrant_url": "http://127.0.0.1:9"}):
        settings = make_settings(tmp_path / "data", **overrides)
        with TestClient(create_app(settings)) as client:
            assert client.get("/readyz").json()["checks"]["deployment"] == {"up": True}


def test_commands_write_only_under_data_dir_whatever_the_folder(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "unused")
    elsewhere, cwd = tmp_path / "elsewhere", tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "a.txt").write_text("the heron stands in the reeds")
    queued = mmrag(
        settings, "ingest", "a.txt", "-c", "birds", "--no-wait", "--data-dir", str(elsewhere),
        cwd=cwd,
    )
    assert queued.returncode == 0, queued.stderr
    assert (elsewhere / "catalog.sqlite").is_file() and (elsewhere / "broker.sqlite").is_file()
    assert sorted(p.name for p in cwd.iterdir()) == ["a.txt"]  # no ./data created here
    assert not settings.data_dir.exists()  # --data-dir wins over MMRAG_DATA_DIR


def test_an_unknown_space_name_is_refused_at_start_naming_the_setting(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    env_spaces = {"MMRAG_SPACES": '["text", "smell"]'}
    result = subprocess.run(
        [sys.executable, "-m", "mmrag", "worker"],
        env={**settings_env(settings), **env_spaces, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    [line] = [text for text in result.stderr.splitlines() if text.strip()]
    assert line.startswith("error bad_setting: MMRAG_SPACES (spaces.1)") and "'text'" in line
    assert not settings.data_dir.exists()
