"""The embed stage's work: encode a document's segments in every enabled space and store them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from index.filters import Payload
from index.spaces.base import Space
from index.stores.base import VectorRecord
from ingest.audio_decode import read_span
from ingest.base import ExtractOptions
from ingest.image_decode import EMBED_MIN_SIDE, open_reduced
from mmrag.domain import Modality, Segment

log = logging.getLogger(__name__)

# Which segments each space embeds. CLIP could embed passages too, but the text space does
# that better; the image space holds pictures (images, page renders, video frames).
SPACE_MODALITIES: dict[str, frozenset[str]] = {
    "text": frozenset({Modality.TEXT}),
    "image": frozenset({Modality.IMAGE, Modality.PAGE_IMAGE, Modality.VIDEO_FRAME}),
    "audio": frozenset({Modality.AUDIO}),
}

T = TypeVar("T")
AUDIO_RATE = 48_000  # audio windows are decoded at CLAP's rate (spaces resample otherwise)


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def embed_segments(
    space_name: str,
    space: Space,
    segments: Sequence[Segment],
    payloads: Sequence[Payload],
    *,
    batch_size: int,
    media_path: Callable[[str], Path],
    options: ExtractOptions,
    source: Path | None = None,
) -> Iterator[list[VectorRecord]]:
    """Yield batches of vector records for the segments ``space_name`` embeds.

    Audio segments carry no media of their own: their windows are decoded from ``source``
    (the document's original file), one span per batch, so memory stays bounded.
    """
    wanted = SPACE_MODALITIES.get(space_name, frozenset())
    chosen = [
        (s, p)
        for s, p in zip(segments, payloads, strict=True)
        if s.modality in wanted and _has_input(s)
    ]
    for batch in batches(chosen, batch_size):
        vectors = _encode(space, [s for s, _ in batch], media_path, options, source)
        yield [VectorRecord(p, v) for (_, p), v in zip(batch, vectors, strict=True)]


def _has_input(segment: Segment) -> bool:
    if segment.modality == Modality.TEXT:
        return bool(segment.text.strip())
    if segment.modality == Modality.AUDIO:
        return segment.locator.start_s is not None and segment.locator.end_s is not None
    return segment.media_key is not None


def _encode(
    space: Space,
    segments: Sequence[Segment],
    media_path: Callable[[str], Path],
    options: ExtractOptions,
    source: Path | None,
) -> NDArray[np.float32]:
    kind = segments[0].modality
    if kind == Modality.TEXT:
        return space.encode_texts([s.index_text for s in segments])
    if kind == Modality.AUDIO:
        assert source is not None, "audio segments are cut from the original file"
        return space.encode_audio(_windows(source, segments), AUDIO_RATE)
    images: list[Image.Image] = []
    for segment in segments:
        assert segment.media_key is not None  # _has_input checked it
        images.append(open_for_embedding(media_path(segment.media_key), options))
    return space.encode_images(images)


def open_for_embedding(path: Path, options: ExtractOptions) -> Image.Image:
    """Return the RGB picture an image space embeds: decoded reduced, converted once small."""
    return open_reduced(path, options, shortest=EMBED_MIN_SIDE).convert("RGB")


def _windows(source: Path, segments: Sequence[Segment]) -> list[NDArray[np.float32]]:
    """Return each audio segment's window, cut from one decoded span of ``source``."""
    starts = [s.locator.start_s or 0.0 for s in segments]
    ends = [s.locator.end_s or 0.0 for s in segments]
    span = read_span(source, min(starts), max(ends), rate=AUDIO_RATE)
    windows = []
    for start, end in zip(starts, ends, strict=True):
        first = max(0, round((start - span.start_s) * AUDIO_RATE))
        window = span.samples[first : max(first + 1, round((end - span.start_s) * AUDIO_RATE))]
        windows.append(window if len(window) else np.zeros(AUDIO_RATE // 10, np.float32))
    return windows
