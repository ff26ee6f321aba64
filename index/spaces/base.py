"""Contract of an embedding space: encode texts / images / audio -> normalised float32 rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mmrag.errors import BadInput, MmragError

Vectors = NDArray[np.float32]  # shape (n, dim), each row L2-normalised


class UnsupportedQuery(BadInput):
    """The space cannot encode this kind of input (e.g. audio into the image space)."""

    code = "unsupported_query"


class SpaceUnavailable(MmragError):
    """The space is disabled; the message says why and which setting fixes it."""

    status = 503
    code = "space_disabled"


@dataclass(frozen=True)
class SpaceStatus:
    """Whether a space is usable; when not, ``reason`` names the setting that fixes it."""

    name: str
    enabled: bool
    model: str
    dim: int | None = None
    device: str | None = None
    reason: str | None = None


class Space(Protocol):
    """A loaded embedding space. Thread-safe: one instance is shared by a process's threads."""

    name: str
    dim: int
    inputs: frozenset[str]  # which of "text", "image", "audio" it encodes

    def encode_texts(self, texts: Sequence[str]) -> Vectors: ...

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors: ...

    def encode_audio(self, waveforms: Sequence[NDArray[np.float32]], sample_rate: int) -> Vectors:
        """Encode mono waveforms (float32 in [-1, 1]) recorded at ``sample_rate``."""
        ...
