"""A parsed, validated search query: what to look for, where, and how to fuse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from index.filters import Filter
from mmrag.domain import CHANNELS
from mmrag.errors import BadInput
from retrieve.fusion import FUSION_METHODS

DEFAULT_WEIGHTS: Mapping[str, float] = {name: 1.0 for name in CHANNELS}


@dataclass(frozen=True)
class AudioClip:
    waveform: NDArray[np.float32]  # mono, float32 in [-1, 1]
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.waveform) / self.sample_rate


@dataclass(frozen=True)
class Query:
    """Text and/or an image and/or a sound, with filters, channel weights and options."""

    collections: Sequence[str]
    text: str | None = None
    image: Image.Image | None = None
    audio: AudioClip | None = None
    k: int = 10
    where: Filter = field(default_factory=Filter)
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    rrf_k: int = 60
    fusion: str = "rrf"  # one of retrieve.fusion.FUSION_METHODS
    rerank: bool = True  # False: skip the reranker even when one is configured
    group_by_document: bool = False
    explain: bool = False
    merge_span_s: float = 0.0

    def __post_init__(self) -> None:
        if not (self.text and self.text.strip()) and self.image is None and self.audio is None:
            raise BadInput("the query is empty: give text, an image or a sound", code="empty_query")
        unknown = set(self.weights) - set(CHANNELS)
        if unknown:
            raise BadInput(
                f"unknown channels {sorted(unknown)}; known: {', '.join(CHANNELS)}",
                code="unknown_channel",
            )
        negative = sorted(name for name, w in self.weights.items() if w < 0)
        if negative:
            raise BadInput(f"channel weights must be >= 0: {negative}", code="bad_weight")
        if self.fusion not in FUSION_METHODS:
            raise BadInput(
                f"unknown fusion method {self.fusion[:40]!r}; known: {', '.join(FUSION_METHODS)}",
                code="unknown_fusion_method",
            )
        if self.rrf_k < 1:
            raise BadInput("rrf_k must be >= 1", code="bad_rrf_k")
        if self.merge_span_s < 0:
            raise BadInput("merge_span_s must be >= 0", code="bad_merge_span")

    def active(self) -> list[str]:
        """Return the channels with a positive weight, in canonical order."""
        return [name for name in CHANNELS if self.weights.get(name, 0) > 0]
