"""The ``audio`` space: CLAP (HTSAT audio tower + RoBERTa text tower) through transformers.

A clip longer than the model's window (10 s for CLAP) is cut into consecutive windows whose
embeddings are averaged, weighted by length: deterministic, unlike CLAP's random crop.
A laion-clap checkpoint file goes to :mod:`index.spaces.laion_clap` instead.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image

from index.spaces.base import Space, SpaceUnavailable, UnsupportedQuery, Vectors
from index.spaces.batching import encode_in_batches
from index.spaces.hub import downloads_allowed, first_line, missing_model
from index.spaces.tiny import TINY_CLAP, tiny_clap
from index.spaces.waveforms import pool_windows, to_rate, windows
from mmrag.settings import Settings

FIX_WEIGHTS = (
    "set MMRAG_AUDIO_MODEL_PATH to a transformers CLAP directory (ClapModel + ClapProcessor "
    "files) or a laion-clap checkpoint"
)


class ClapSpace:
    """transformers ClapModel: audio windows and text queries in one space."""

    name = "audio"
    inputs = frozenset({"text", "audio"})

    def __init__(self, model: Any, processor: Any, model_id: str, batch_size: int, device: str):
        self.model = model
        self.processor = processor
        self.model_id = model_id
        self.batch_size = batch_size
        self.device = device
        self.dim = int(model.config.projection_dim)
        extractor = processor.feature_extractor
        self.sample_rate = int(extractor.sampling_rate)
        self.window = int(extractor.nb_max_samples)
        self._lock = threading.Lock()  # fast tokenizers are not safe to share across threads

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Return one normalised row per text, from the text tower."""
        return encode_in_batches(list(texts), self.batch_size, self.dim, self._texts_batch)

    def encode_audio(self, waveforms: Sequence[NDArray[np.float32]], sample_rate: int) -> Vectors:
        """Return one normalised row per clip (any rate and length; resampled to the model's)."""
        clips = [windows(to_rate(w, sample_rate, self.sample_rate), self.window) for w in waveforms]
        flat = [window for clip in clips for window in clip]
        rows = encode_in_batches(flat, self.batch_size, self.dim, self._audio_batch)
        return pool_windows(rows, clips, self.dim)

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """Never returns: the audio space does not encode images."""
        raise UnsupportedQuery("the audio space encodes audio and text; use the image space")

    def _texts_batch(self, texts: Sequence[str]) -> torch.Tensor:
        with self._lock:
            tokens = self.processor.tokenizer(
                list(texts), padding=True, truncation=True, return_tensors="pt"
            )
        with torch.inference_mode():
            out = self.model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device),
                attention_mask=tokens["attention_mask"].to(self.device),
            )
        return _features(out)

    def _audio_batch(self, clips: Sequence[NDArray[np.float32]]) -> torch.Tensor:
        features = self.processor.feature_extractor(
            list(clips), sampling_rate=self.sample_rate, return_tensors="pt"
        )
        inputs = {key: value.to(self.device) for key, value in features.items()}
        with torch.inference_mode():
            return _features(self.model.get_audio_features(**inputs))


def _features(out: Any) -> torch.Tensor:
    """Return the projected embeddings (transformers 5 wraps them in ``pooler_output``)."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def load_audio_space(settings: Settings, device: str) -> Space:
    """Return the loaded audio space, or raise SpaceUnavailable naming the setting to fix."""
    path = settings.audio_model_path
    if path is not None and path.is_file():
        from index.spaces.laion_clap import load_laion_clap_space

        return load_laion_clap_space(settings, device)
    if path is not None and not path.is_dir():
        raise SpaceUnavailable(f"MMRAG_AUDIO_MODEL_PATH={path} does not exist: {FIX_WEIGHTS}")
    if path is None and settings.audio_model == TINY_CLAP:
        model, processor = _tiny(settings)
    else:
        model, processor = _pretrained(settings, str(path or settings.audio_model))
    _check_vocab(processor, model)
    model.to(device).eval()
    return ClapSpace(model, processor, settings.audio_model, settings.embed_batch_size, device)


def _tiny(settings: Settings) -> tuple[Any, Any]:
    if not settings.allow_random_weights:
        raise SpaceUnavailable(
            f"MMRAG_AUDIO_MODEL={TINY_CLAP} has random weights (tests only): set "
            "MMRAG_ALLOW_RANDOM_WEIGHTS=1 in tests, or name a real CLAP model in "
            "MMRAG_AUDIO_MODEL / MMRAG_AUDIO_MODEL_PATH"
        )
    return tiny_clap()


def _pretrained(settings: Settings, source: str) -> tuple[Any, Any]:
    from transformers import ClapModel, ClapProcessor

    local_only = settings.audio_model_path is not None or not downloads_allowed(settings)
    try:
        model = ClapModel.from_pretrained(source, local_files_only=local_only)
        processor = ClapProcessor.from_pretrained(source, local_files_only=local_only)
    except (OSError, ValueError) as exc:
        if local_only and settings.audio_model_path is None:
            raise SpaceUnavailable(
                missing_model(f"CLAP model {source}", FIX_WEIGHTS, settings)
            ) from exc
        raise SpaceUnavailable(
            f"CLAP model {source!r} could not be loaded ({first_line(exc)}): {FIX_WEIGHTS}"
        ) from exc
    return model, processor


def _check_vocab(processor: Any, model: Any) -> None:
    """Refuse a tokenizer that does not match the text tower (e.g. a stub built offline)."""
    size, expected = len(processor.tokenizer), int(model.config.text_config.vocab_size)
    if size > expected or size < expected // 2:
        raise SpaceUnavailable(
            f"the CLAP tokenizer has {size} tokens but the text tower expects {expected}: "
            f"the tokenizer files are missing or wrong: {FIX_WEIGHTS}"
        )
