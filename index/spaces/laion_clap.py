"""The ``audio`` space on a laion-clap checkpoint, when the optional laion-clap package is present.

laion-clap 1.1.x pins numpy<2 and builds its RoBERTa text tower with
``from_pretrained("roberta-base")`` at construction, so it is not a dependency of mmrag:
users with laion-clap ``.pt`` checkpoints install it themselves (and need roberta-base in the
hub cache when offline). Untested here: the package cannot be installed beside numpy 2.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image

from index.spaces.base import SpaceUnavailable, UnsupportedQuery, Vectors
from index.spaces.batching import encode_in_batches
from index.spaces.waveforms import pool_windows, to_rate, windows
from mmrag.settings import Settings

SAMPLE_RATE = 48_000
WINDOW = 10 * SAMPLE_RATE


class LaionClapSpace:
    """laion_clap.CLAP_Module: audio windows and text queries in one 512-d space."""

    name = "audio"
    inputs = frozenset({"text", "audio"})
    dim = 512

    def __init__(self, module: Any, model_id: str, batch_size: int, device: str) -> None:
        self.module = module
        self.model_id = model_id
        self.batch_size = batch_size
        self.device = device
        self._lock = threading.Lock()

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Return one normalised row per text."""
        return encode_in_batches(list(texts), self.batch_size, self.dim, self._texts_batch)

    def encode_audio(self, waveforms: Sequence[NDArray[np.float32]], sample_rate: int) -> Vectors:
        """Return one normalised row per clip: 10 s windows at 48 kHz, averaged by length."""
        clips = [windows(to_rate(w, sample_rate, SAMPLE_RATE), WINDOW) for w in waveforms]
        rows = encode_in_batches(
            [w for clip in clips for w in clip], self.batch_size, self.dim, self._audio_batch
        )
        return pool_windows(rows, clips, self.dim)

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """Never returns: the audio space does not encode images."""
        raise UnsupportedQuery("the audio space encodes audio and text; use the image space")

    def _texts_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock, torch.inference_mode():
            return np.asarray(self.module.get_text_embedding(list(texts), use_tensor=False))

    def _audio_batch(self, clips: Sequence[NDArray[np.float32]]) -> np.ndarray:
        # CLAP_Module takes a (n, samples) batch: zero-pad the short tail window.
        batch = np.zeros((len(clips), max(c.size for c in clips)), dtype=np.float32)
        for i, clip in enumerate(clips):
            batch[i, : clip.size] = clip
        with self._lock, torch.inference_mode():
            return np.asarray(self.module.get_audio_embedding_from_data(x=batch, use_tensor=False))


def load_laion_clap_space(settings: Settings, device: str) -> LaionClapSpace:
    """Return the space for the checkpoint at MMRAG_AUDIO_MODEL_PATH, or raise SpaceUnavailable."""
    path = settings.audio_model_path
    if importlib.util.find_spec("laion_clap") is None:
        raise SpaceUnavailable(
            f"MMRAG_AUDIO_MODEL_PATH={path} is a file (a laion-clap checkpoint) but the optional "
            "laion-clap package is not installed (it pins numpy<2); install it, or point "
            "MMRAG_AUDIO_MODEL_PATH at a transformers CLAP directory"
        )
    import laion_clap

    name = str(path).lower()
    # laion's 630k checkpoints use HTSAT-tiny; its music/speech ones HTSAT-base.
    amodel = "HTSAT-base" if ("music" in name or "speech" in name) else "HTSAT-tiny"
    try:
        module = laion_clap.CLAP_Module(
            enable_fusion="fusion" in name, amodel=amodel, tmodel="roberta", device=device
        )
        module.load_ckpt(ckpt=str(path), verbose=False)
    except (OSError, RuntimeError, ValueError) as exc:
        raise SpaceUnavailable(
            f"laion-clap checkpoint MMRAG_AUDIO_MODEL_PATH={path} could not be loaded ({exc}); "
            "laion-clap needs roberta-base from the hub (cached when MMRAG_OFFLINE=1)"
        ) from exc
    module.eval()
    return LaionClapSpace(module, str(path), settings.embed_batch_size, device)
