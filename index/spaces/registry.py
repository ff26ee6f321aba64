"""Spaces by name: each loads once per process, on first use, and is shared by all threads.

A space that cannot load (missing weights, offline, random weights refused, bad device) is
disabled: the failure is remembered and reported with the setting that fixes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

import torch

from index.spaces.base import Space, SpaceStatus, SpaceUnavailable
from index.spaces.batching import resolve_device
from index.spaces.hub import downloads_allowed, first_line, quiet_progress_bars
from index.spaces.weights import ModelWeights, describe, fetch
from mmrag.settings import Settings

log = logging.getLogger(__name__)

Loader = Callable[[Settings, str], Space]

__all__ = ["SpaceRegistry", "SpaceUnavailable", "default_loaders"]


def default_loaders() -> dict[str, Loader]:
    """Return the loader of each known space (imports its model library lazily)."""

    def text(settings: Settings, device: str) -> Space:
        from index.spaces.text import load_text_space

        return load_text_space(settings, device)

    def image(settings: Settings, device: str) -> Space:
        from index.spaces.image import load_image_space

        return load_image_space(settings, device)

    def audio(settings: Settings, device: str) -> Space:
        from index.spaces.audio import load_audio_space

        return load_audio_space(settings, device)

    return {"text": text, "image": image, "audio": audio}


# What each space's encoders take (its class's ``inputs``), known before its model loads.
DECLARED_INPUTS: dict[str, frozenset[str]] = {
    "text": frozenset({"text"}),
    "image": frozenset({"text", "image"}),
    "audio": frozenset({"text", "audio"}),
}
ALL_INPUTS = frozenset({"text", "image", "audio"})

_MODEL_SETTING = {"text": "text_model", "image": "image_model", "audio": "audio_model"}


class SpaceRegistry:
    """Loads the spaces named in ``settings.spaces`` once and hands out the shared instances.

    With ``background_downloads`` (the default with the default loaders), a space whose hub
    weights are missing while downloads are possible is fetched in a thread; until they are
    in, the space raises SpaceUnavailable ("downloading"), so ingestion and search go on
    with the other spaces, and :meth:`download_progress` says how far it got. A one-shot
    command turns it off: its process would end before the download does.
    """

    def __init__(
        self,
        settings: Settings,
        loaders: Mapping[str, Loader] | None = None,
        *,
        background_downloads: bool | None = None,
    ) -> None:
        self.settings = settings
        self.loaders = dict(loaders or default_loaders())
        self.background_downloads = (
            loaders is None if background_downloads is None else background_downloads
        )
        self._spaces: dict[str, Space] = {}
        self._failures: dict[str, str] = {}
        self._downloads: dict[str, ModelWeights] = {}
        # One lock for all loads: model libraries' lazy imports are not safe to race (two
        # threads importing transformers' CLAP and CLIP at once fail with ImportError).
        self._load_lock = threading.Lock()

    def get(self, name: str) -> Space:
        """Return the loaded space ``name``; raise SpaceUnavailable with the reason if disabled."""
        space = self._spaces.get(name)
        if space is not None:
            return space
        if name not in self.loaders:
            raise SpaceUnavailable(f"unknown space {name!r}; known: {sorted(self.loaders)}")
        if name not in self.settings.spaces:
            raise SpaceUnavailable(f"space {name!r} is not enabled: add it to MMRAG_SPACES")
        with self._load_lock:
            tried = name in self._spaces or name in self._failures
            if not tried and not self._downloading(name):
                self._load(name)
        if name in self._downloads:
            raise SpaceUnavailable(
                f"space {name!r} is downloading its weights ({self._downloads[name].model}); "
                "it is skipped until they are in"
            )
        if name in self._failures:
            raise SpaceUnavailable(f"space {name!r} is disabled: {self._failures[name]}")
        return self._spaces[name]

    def inputs(self, name: str) -> frozenset[str]:
        """Return what space ``name`` encodes, without loading it (a space of another name
        than the known ones is assumed to take everything until it has loaded)."""
        space = self._spaces.get(name)
        if space is not None:
            return space.inputs
        return DECLARED_INPUTS.get(name, ALL_INPUTS)

    def status(self) -> dict[str, SpaceStatus]:
        """Return every known space's status; this loads each enabled space not loaded yet."""
        return {name: self._status(name) for name in self.loaders}

    def peek(self, name: str) -> SpaceStatus | None:
        """Return ``name``'s status if it has loaded or failed; None while not tried. Cheap."""
        model = str(getattr(self.settings, _MODEL_SETTING.get(name, ""), "") or "")
        if name in self._failures:
            return SpaceStatus(name=name, enabled=False, model=model, reason=self._failures[name])
        if name not in self.settings.spaces:
            reason = f"space {name!r} is not enabled: add it to MMRAG_SPACES"
            return SpaceStatus(name=name, enabled=False, model=model, reason=reason)
        if name in self._spaces:
            return self._status(name)
        return None

    def download_progress(self, name: str) -> int | None:
        """Return the bytes of ``name``'s weights on disk while they download, else None."""
        weights = self._downloads.get(name)
        return None if weights is None else weights.received_bytes()

    def enabled(self) -> list[str]:
        """Return the names of the spaces that loaded (loading them if needed)."""
        return [name for name, status in self.status().items() if status.enabled]

    def _load(self, name: str) -> None:
        try:
            device = self._device()
            with quiet_progress_bars():
                self._spaces[name] = self.loaders[name](self.settings, device)
        except SpaceUnavailable as exc:
            self._failures[name] = exc.message
            log.warning("space %s disabled: %s", name, exc.message)
        else:
            log.info("space %s loaded on %s", name, device)

    def _downloading(self, name: str) -> bool:
        """Return True while ``name``'s weights download, starting that when they are missing."""
        if name in self._downloads:
            return True
        if not self.background_downloads or name not in DECLARED_INPUTS:
            return False
        try:
            weights = describe(self.settings, name)
        except SpaceUnavailable:
            return False  # the loader reports it
        if weights.present or weights.repo_id is None or not downloads_allowed(self.settings):
            return False
        self._downloads[name] = weights
        log.info("space %s: downloading %s into %s", name, weights.model, weights.location)
        threading.Thread(target=self._download, args=(name, weights), daemon=True).start()
        return True

    def _download(self, name: str, weights: ModelWeights) -> None:
        try:
            fetch(weights, self.settings, progress=False)
        except Exception as exc:  # any hub, network or disk failure: remembered, not retried
            self._failures[name] = (
                f"downloading {weights.model} failed ({first_line(exc)}): run "
                f"`mmrag models fetch {name}` to retry"
            )
            log.warning("space %s disabled: %s", name, self._failures[name])
        finally:
            self._downloads.pop(name, None)
        if name not in self._failures:
            log.info("space %s: %s downloaded", name, weights.model)
            self._status(name)  # load it now, so /readyz shows it up without waiting for a query

    def _device(self) -> str:
        device = resolve_device(self.settings.device)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise SpaceUnavailable(
                f"MMRAG_DEVICE={self.settings.device} but no CUDA device is available; "
                "set MMRAG_DEVICE=auto or cpu"
            )
        return device

    def _status(self, name: str) -> SpaceStatus:
        model = str(getattr(self.settings, _MODEL_SETTING.get(name, ""), "") or "")
        try:
            space = self.get(name)
        except SpaceUnavailable as exc:
            return SpaceStatus(name=name, enabled=False, model=model, reason=exc.message)
        device = getattr(space, "device", None)
        return SpaceStatus(name, True, model, dim=space.dim, device=str(device) if device else None)
