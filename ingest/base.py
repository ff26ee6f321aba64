"""Contract of the extraction stage: options in, an :class:`Extraction` out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mmrag.domain import ExtractedSegment
from mmrag.settings import Settings


@dataclass(frozen=True)
class ExtractOptions:
    """Limits and knobs of extraction, taken from :class:`Settings`."""

    max_pdf_pages: int = 2000
    max_image_pixels: int = 64_000_000
    max_image_decode_bytes: int = 256_000_000
    max_text_bytes: int = 50 * 1024 * 1024
    chunk_chars: int = 1200
    chunk_overlap_chars: int = 150
    page_render_dpi: int = 72
    pdf_structure: bool = True
    min_image_side: int = 64
    thumbnail_side: int = 256
    ocr: bool = True
    ocr_min_text_chars: int = 16
    offline: bool = False
    max_media_seconds: float = 4 * 3600.0
    speech: bool = True
    speech_model: str = "tiny.en"
    speech_model_path: Path | None = None
    speech_compute_type: str = "int8"
    speech_beam_size: int = 1
    speech_vad: bool = True
    speech_block_seconds: float = 300.0
    audio_window_seconds: float = 10.0
    audio_hop_seconds: float = 5.0
    audio_silence_dbfs: float = -50.0
    video_frame_interval_s: float = 10.0
    video_scene_threshold: float = 27.0
    video_min_scene_seconds: float = 1.0
    video_frame_side: int = 512

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractOptions:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


@dataclass
class Extraction:
    """What an extractor found: the sniffed type, document metadata, and segments.

    ``segments`` is an iterator so that large documents stream through in bounded memory;
    ``metadata`` (JSON-safe) and ``thumbnail`` may still grow while segments are pulled
    (a transcript's language, a video's poster), so consumers read them afterwards.
    ``thumbnail`` is a PNG no larger than ``ExtractOptions.thumbnail_side``.
    Extractors may raise :class:`mmrag.errors.BadInput` while segments are pulled (a page
    that turns out to be corrupt), so consumers must be ready for that mid-stream.
    """

    media_type: str
    metadata: dict[str, Any] = field(default_factory=dict)
    segments: Iterator[ExtractedSegment] = field(default_factory=lambda: iter(()))
    thumbnail: bytes | None = None


class Extractor(Protocol):
    def __call__(self, path: Path, media_type: str, options: ExtractOptions) -> Extraction: ...
