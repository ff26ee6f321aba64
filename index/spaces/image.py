"""The ``image`` space: open_clip (CLIP or SigLIP) for images, page renders, frames, text."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
from numpy.typing import NDArray
from PIL import Image

from index.spaces.base import SpaceUnavailable, UnsupportedQuery, Vectors
from index.spaces.batching import encode_in_batches
from index.spaces.hub import downloads_allowed, first_line, missing_model
from index.spaces.tiny import TINY_CLIP, register_tiny_clip
from mmrag.settings import Settings

FIX_PATH = "set MMRAG_IMAGE_MODEL_PATH to an open_clip checkpoint file or model directory"
FIX_WEIGHTS = f"{FIX_PATH}, or MMRAG_IMAGE_PRETRAINED to one of the model's pretrained tags"


class ImageSpace:
    """open_clip encoder: image tower for pictures, text tower for text queries."""

    name = "image"
    inputs = frozenset({"text", "image"})

    def __init__(
        self,
        model: Any,
        preprocess: Callable[[Image.Image], torch.Tensor],
        tokenizer: Callable[[list[str]], torch.Tensor],
        model_id: str,
        batch_size: int,
        device: str,
    ) -> None:
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.batch_size = batch_size
        self.device = device
        self.dim = _embed_dim(model)
        self._lock = threading.Lock()  # HF tokenizers (SigLIP) are not thread-safe

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """Return one normalised row per image (any PIL mode; converted to RGB)."""
        return encode_in_batches(list(images), self.batch_size, self.dim, self._images_batch)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Return one normalised row per text, from the text tower (same space as images)."""
        return encode_in_batches(list(texts), self.batch_size, self.dim, self._texts_batch)

    def encode_audio(self, waveforms: Sequence[NDArray[np.float32]], sample_rate: int) -> Vectors:
        """Never returns: the image space does not encode audio."""
        raise UnsupportedQuery("the image space encodes images and text; use the audio space")

    def _images_batch(self, images: Sequence[Image.Image]) -> torch.Tensor:
        pixels = torch.stack([self.preprocess(image.convert("RGB")) for image in images])
        with torch.inference_mode():
            return self.model.encode_image(pixels.to(self.device), normalize=True)

    def _texts_batch(self, texts: Sequence[str]) -> torch.Tensor:
        with self._lock:
            tokens = self.tokenizer(list(texts))
        with torch.inference_mode():
            return self.model.encode_text(tokens.to(self.device), normalize=True)


def _embed_dim(model: Any) -> int:
    projection = getattr(model, "text_projection", None)
    if isinstance(projection, torch.nn.Linear):
        return int(projection.out_features)
    if isinstance(projection, torch.Tensor):
        return int(projection.shape[1])
    with torch.inference_mode():  # towers without a plain projection (timm/HF): measure it
        return int(model.encode_text(torch.zeros((1, 8), dtype=torch.long)).shape[-1])


def load_image_space(settings: Settings, device: str) -> ImageSpace:
    """Return the loaded image space, or raise SpaceUnavailable naming the setting to fix."""
    name, create_kwargs = weights_source(settings)
    tokenizer = _tokenizer(settings, name)
    try:
        # The tiny model's random weights must be the same in every process (workers embed,
        # the API encodes queries), so they come from a fixed seed, not the global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model, _, preprocess = open_clip.create_model_and_transforms(
                name, device=device, weights_only=True, **create_kwargs
            )
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise SpaceUnavailable(
            f"open_clip model {name!r} could not be loaded ({first_line(exc)}): {FIX_WEIGHTS}"
        ) from exc
    model.eval()
    return ImageSpace(
        model, preprocess, tokenizer, settings.image_model, settings.embed_batch_size, device
    )


def weights_source(settings: Settings) -> tuple[str, dict[str, Any]]:
    """Return (open_clip model name, create kwargs) naming real weights, or tiny random ones."""
    path = settings.image_model_path
    if path is not None:
        if path.is_dir():  # open_clip_config.json + weights (+ tokenizer files)
            return f"local-dir:{path}", {}
        if path.is_file():
            _check_known(settings.image_model)
            return settings.image_model, {"pretrained": str(path)}
        raise SpaceUnavailable(f"MMRAG_IMAGE_MODEL_PATH={path} does not exist. {FIX_WEIGHTS}")
    if settings.image_model == TINY_CLIP:
        return TINY_CLIP, {"pretrained": None, **_random_allowed(settings)}
    _check_known(settings.image_model)
    tag = settings.image_pretrained
    if not tag:
        raise SpaceUnavailable(
            f"no weights for MMRAG_IMAGE_MODEL={settings.image_model}: {FIX_WEIGHTS}"
        )
    if not downloads_allowed(settings):
        return settings.image_model, _cached_tag(settings, tag)
    return settings.image_model, {"pretrained": tag, "require_pretrained": True}


def _random_allowed(settings: Settings) -> dict[str, Any]:
    if not settings.allow_random_weights:
        raise SpaceUnavailable(
            f"MMRAG_IMAGE_MODEL={TINY_CLIP} has random weights (tests only): set "
            "MMRAG_ALLOW_RANDOM_WEIGHTS=1 in tests, or choose a real MMRAG_IMAGE_MODEL with "
            "MMRAG_IMAGE_PRETRAINED or MMRAG_IMAGE_MODEL_PATH"
        )
    register_tiny_clip()
    return {}


def _check_known(model: str) -> None:
    if model == TINY_CLIP:
        register_tiny_clip()
    if model not in open_clip.list_models():
        raise SpaceUnavailable(
            f"MMRAG_IMAGE_MODEL={model} is not an open_clip architecture "
            "(see open_clip.list_models(), e.g. ViT-B-32 or ViT-B-16-SigLIP)"
        )


def _cached_tag(settings: Settings, tag: str) -> dict[str, Any]:
    """Return create kwargs for a tag's weights already in the local hub cache (no download)."""
    from huggingface_hub import try_to_load_from_cache

    model = settings.image_model
    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        raise SpaceUnavailable(
            f"MMRAG_IMAGE_PRETRAINED={tag} is not a pretrained tag of {model}: set it to one of "
            f"{open_clip.list_pretrained_tags_by_model(model)}"
        )
    for repo_id, filename in _hub_candidates(str(cfg.get("hf_hub", ""))):
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str):
            keys = ("mean", "std", "interpolation", "resize_mode")
            preprocess = {key: cfg[key] for key in keys if key in cfg}
            return {"pretrained": found, "force_preprocess_cfg": preprocess}
    raise SpaceUnavailable(missing_model(f"open_clip {model} ({tag})", FIX_PATH, settings))


def hub_files(model: str, tag: str) -> tuple[str | None, tuple[str, ...]]:
    """Return the hub repo holding ``model``'s weights for ``tag`` and its candidate files."""
    cfg = open_clip.get_pretrained_cfg(model, tag) if tag else {}
    pairs = _hub_candidates(str((cfg or {}).get("hf_hub", "")))
    return (pairs[0][0], tuple(name for _, name in pairs)) if pairs else (None, ())


def _hub_candidates(hf_hub: str) -> list[tuple[str, str]]:
    """Return (repo, file) pairs open_clip would download for a tag, safetensors first."""
    if not hf_hub:
        return []
    repo_id, _, filename = hf_hub.rpartition("/")
    filename = filename or "open_clip_pytorch_model.bin"
    safe = (
        "open_clip_model.safetensors"
        if filename == "open_clip_pytorch_model.bin"
        else str(Path(filename).with_suffix(".safetensors"))
    )
    return [(repo_id, safe), (repo_id, filename)]


def _tokenizer(settings: Settings, name: str) -> Callable[[list[str]], torch.Tensor]:
    """Return the model's text tokenizer; one that needs a download offline disables the space."""
    kwargs: dict[str, Any] = {}
    local_only = _uses_hf_tokenizer(name) and not downloads_allowed(settings)
    if local_only:
        kwargs["local_files_only"] = True
    try:
        tokenizer: Callable[[list[str]], torch.Tensor] = open_clip.get_tokenizer(name, **kwargs)
    except (OSError, ValueError, ImportError) as exc:
        fix = "set MMRAG_IMAGE_MODEL_PATH to an open_clip model directory with the tokenizer files"
        what = f"the text tokenizer of MMRAG_IMAGE_MODEL={settings.image_model}"
        if local_only:
            raise SpaceUnavailable(missing_model(what, fix, settings)) from exc
        raise SpaceUnavailable(f"{what} could not be loaded ({first_line(exc)}): {fix}") from exc
    return tokenizer


def _uses_hf_tokenizer(name: str) -> bool:
    if name.startswith(("local-dir:", "hf-hub:")):
        return True
    config = open_clip.get_model_config(name) or {}
    return bool(config.get("text_cfg", {}).get("hf_tokenizer_name"))
