"""SpaceRegistry: one load per process shared by threads, disabled spaces with reasons."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from index.spaces.base import Space, SpaceUnavailable
from index.spaces.registry import SpaceRegistry
from index.spaces.tiny import TINY_CLAP, TINY_CLIP
from mmrag.settings import Settings


def tiny_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "spaces": ["image", "audio"],
        "image_model": TINY_CLIP,
        "audio_model": TINY_CLAP,
        "allow_random_weights": True,
        "device": "auto",
        **overrides,
    }
    return Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]


def test_a_space_loads_once_and_is_shared_by_threads(tmp_path: Path) -> None:
    calls: list[str] = []
    real = SpaceRegistry(tiny_settings(tmp_path)).loaders["image"]

    def slow_image(settings: Settings, device: str) -> Space:
        calls.append(device)
        time.sleep(0.2)  # widen the window in which threads race
        return real(settings, device)

    registry = SpaceRegistry(tiny_settings(tmp_path), {"image": slow_image})
    with ThreadPoolExecutor(8) as pool:
        spaces = list(pool.map(lambda _: registry.get("image"), range(8)))
    assert len(calls) == 1 and all(space is spaces[0] for space in spaces)
    assert calls == ["cuda" if torch.cuda.is_available() else "cpu"]


def test_status_reports_loaded_and_disabled_spaces(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path, spaces=["image", "audio"], allow_random_weights=False)
    registry = SpaceRegistry(settings)
    status = registry.status()
    assert set(status) == {"text", "image", "audio"}
    assert not status["text"].enabled and "MMRAG_SPACES" in (status["text"].reason or "")
    for name in ("image", "audio"):
        assert not status[name].enabled
        assert "MMRAG_ALLOW_RANDOM_WEIGHTS" in (status[name].reason or "")
    assert registry.enabled() == []
    with pytest.raises(SpaceUnavailable) as caught:
        registry.get("audio")
    assert caught.value.code == "space_disabled" and "random weights" in caught.value.message


def test_enabled_spaces_report_dim_and_device(tmp_path: Path) -> None:
    registry = SpaceRegistry(tiny_settings(tmp_path))
    assert registry.enabled() == ["image", "audio"]
    status = registry.status()["audio"]
    assert status.enabled and status.dim == 32 and status.device in {"cpu", "cuda"}
    assert registry.get("audio") is registry.get("audio")


def test_a_failed_load_is_remembered(tmp_path: Path) -> None:
    calls = threading.Semaphore(0)

    def broken(settings: Settings, device: str) -> Space:
        calls.release()
        raise SpaceUnavailable("set MMRAG_IMAGE_MODEL_PATH")

    registry = SpaceRegistry(tiny_settings(tmp_path), {"image": broken})
    for _ in range(3):
        with pytest.raises(SpaceUnavailable, match="MMRAG_IMAGE_MODEL_PATH"):
            registry.get("image")
    assert calls.acquire(blocking=False) and not calls.acquire(blocking=False)


def test_unknown_space_and_missing_cuda(tmp_path: Path) -> None:
    registry = SpaceRegistry(tiny_settings(tmp_path))
    with pytest.raises(SpaceUnavailable, match="unknown space"):
        registry.get("smell")
    if not torch.cuda.is_available():
        cuda = SpaceRegistry(tiny_settings(tmp_path, device="cuda"))
        with pytest.raises(SpaceUnavailable, match="MMRAG_DEVICE"):
            cuda.get("image")
