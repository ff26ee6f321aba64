"""``mmrag models list|fetch`` and background downloads, offline: what is here, what is not,
and a fetch that cannot run fails at once with one line naming the setting."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from huggingface_hub import constants
from typer.testing import CliRunner

from api.announce import banner
from api.routers.health import spaces_report
from index.spaces import registry as registry_module
from index.spaces.base import Space, SpaceUnavailable
from index.spaces.registry import SpaceRegistry
from index.spaces.weights import ModelWeights, describe
from mmrag.cli import app
from mmrag.settings import Settings
from tests.unit.spaces.test_space_hub import free_port, run_child

CLIP_REPO = "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def cache_file(cache: Path, repo: str, name: str, data: bytes) -> None:
    """Put ``name`` into the hub cache the way huggingface_hub lays it out."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    (folder / "blobs").mkdir()
    (folder / "blobs" / "b1").write_bytes(data)
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / name).symlink_to(folder / "blobs" / "b1")


def models(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    command = ["models", *args, "--data-dir", str(tmp_path / "data")]
    done = CliRunner().invoke(app, command, env=env)
    return done.exit_code, done.output


def test_list_says_what_is_here_and_where_the_rest_would_go(
    tmp_path: Path, hub_cache: Path
) -> None:
    code, out = models(tmp_path, "list")
    assert code == 0, out
    lines = out.splitlines()
    image = lines.index(next(line for line in lines if line.startswith("image")))
    assert "missing" in lines[image] and f"hub: {CLIP_REPO}" in lines[image]
    where = f"would be stored in {hub_cache}/models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K"
    assert where in lines[image + 1]
    assert any(line.startswith("audio") and "missing" in line for line in lines)

    cache_file(hub_cache, CLIP_REPO, "open_clip_model.safetensors", b"x" * 2000)
    code, out = models(tmp_path, "list")
    image_line = next(line for line in out.splitlines() if line.startswith("image"))
    assert "present" in image_line and "2.0 kB" in out, out


def test_fetch_offline_names_the_setting(tmp_path: Path, hub_cache: Path) -> None:
    code, out = models(tmp_path, "fetch", "image", MMRAG_OFFLINE="1")
    assert code == 2
    assert "MMRAG_OFFLINE=1 forbids downloads: set MMRAG_OFFLINE=0" in out
    assert "fetching" not in out  # refused before anything started
    assert models(tmp_path, "fetch", "video")[0] == 2


def test_fetch_with_the_hub_unreachable_fails_at_once_in_one_line(tmp_path: Path) -> None:
    # A child: huggingface_hub reads HF_ENDPOINT once, at import.
    code = "from mmrag.cli import app; app(['models', 'fetch', 'audio'])"
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{free_port()}", "HF_HOME": str(tmp_path / "hf"),
           "MMRAG_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "300"}  # fmt: skip
    done = run_child(code, env)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert errors == [
        "error download_refused: audio: cannot fetch laion/clap-htsat-unfused: 127.0.0.1 cannot "
        "be reached: check the network or proxy, or set HF_ENDPOINT to a reachable mirror"
    ], done.stderr
    assert "Traceback" not in done.stderr and "Retry" not in done.stderr


def test_a_missing_model_downloads_in_the_background_while_the_space_says_so(
    tmp_path: Path, hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand-in for the hub (none is reachable here): a fetch that writes part of the file
    # and waits; the registry must not block on it and must report the bytes so far.
    settings = Settings(data_dir=tmp_path, spaces=["image"], offline=False)
    weights = describe(settings, "image")
    assert isinstance(weights, ModelWeights) and not weights.present
    release, loaded = threading.Event(), threading.Event()

    def fetch(w: ModelWeights, s: Settings, *, progress: bool) -> None:
        cache_file(hub_cache, CLIP_REPO, "open_clip_model.safetensors", b"y" * 4096)
        release.wait(10)

    def loader(s: Settings, device: str) -> Space:
        loaded.set()
        raise SpaceUnavailable("weights present; loading is another test's business")

    monkeypatch.setattr(registry_module, "fetch", fetch)
    monkeypatch.setattr(registry_module, "downloads_allowed", lambda s: True)
    spaces = SpaceRegistry(settings, {"image": loader}, background_downloads=True)
    with pytest.raises(SpaceUnavailable, match="downloading its weights"):
        spaces.get("image")
    assert spaces.peek("image") is None  # neither loaded nor failed: /readyz says downloading
    deadline = time.monotonic() + 10
    while spaces.download_progress("image") != 4096 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spaces.download_progress("image") == 4096
    service = cast(Any, SimpleNamespace(settings=settings, indexes=SimpleNamespace(spaces=spaces)))
    report = spaces_report(service)  # what /readyz shows
    assert report == {"image": {"up": False, "state": "downloading", "bytes": 4096}}
    lines = banner(settings, "http://127.0.0.1:8000", report)  # what serve prints once up
    assert lines[0].startswith("mmrag is up: web UI http://127.0.0.1:8000/")
    assert lines[1] == f"data dir: {tmp_path.resolve()}" and "mmrag" in lines[2]
    assert lines[3:] == ["space image: downloading (0 MiB so far)"]
    release.set()
    assert loaded.wait(10)  # once in, the space loads without waiting for a query
    assert spaces.download_progress("image") is None
