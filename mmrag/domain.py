"""Domain types that cross stage boundaries (frozen dataclasses, never loose dicts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

# Search channels, in canonical order: one term index and one vector space each.
CHANNELS = ("bm25", "text", "image", "audio")


class Modality(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO_FRAME = "video_frame"
    PAGE_IMAGE = "page_image"


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    INDEXED = "indexed"
    FAILED = "failed"
    DELETED = "deleted"


class Stage(StrEnum):
    """Pipeline stage a document is waiting for (each has its Celery queue)."""

    EXTRACT = "extract"
    EMBED = "embed"
    INDEX = "index"


BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class PageBox:
    """One region of a passage that spans pages or columns: a page and a box on it."""

    page: int
    bbox: BBox


@dataclass(frozen=True)
class Locator:
    """Where a segment sits in its document; only the fields that apply are set.

    ``bbox`` is (x0, y0, x1, y1) in PDF points (pages) or pixels (images); for a PDF
    passage it covers the passage's text on ``page``, its first page.
    ``boxes`` lists every region, in reading order, when a passage crosses a page or a
    column (None when ``page`` + ``bbox`` say it all).
    ``section`` is the heading path for structured text ("Intro > Setup").
    """

    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    section: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    boxes: tuple[PageBox, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Locator:
        data = dict(data or {})
        if data.get("bbox") is not None:
            data["bbox"] = tuple(data["bbox"])
        if data.get("boxes") is not None:
            data["boxes"] = tuple(PageBox(b["page"], tuple(b["bbox"])) for b in data["boxes"])
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ExtractedSegment:
    """A segment as produced by ingest/, before it has an id or stored media."""

    modality: Modality
    text: str = ""
    locator: Locator = field(default_factory=Locator)
    media: bytes | None = None
    media_type: str | None = None


@dataclass(frozen=True)
class Segment:
    """A stored segment: the unit that is retrieved and cited."""

    id: str
    document_id: str
    collection: str
    ordinal: int
    modality: Modality
    text: str
    locator: Locator
    media_key: str | None
    media_type: str | None
    source_key: str | None = None
    source_type: str | None = None
    # What index writers put before ``text`` (document title, heading path): it helps a
    # passage that never names its section to be found, and is never shown as its text.
    context: str = ""

    @property
    def index_text(self) -> str:
        """Return the text that is embedded and BM25-indexed: context, then the passage."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    def media_link(self) -> tuple[str, str] | None:
        """Return (blob key, URL fragment) of what best shows this segment, if anything.

        A time-coded segment of a recording (transcript passage, sound window, video frame)
        links to the original at the cited moment (``#t=start,end``, W3C media fragments),
        so a player seeks there; otherwise the segment's own media (page render, image)
        wins, then the original file, opened at the page for PDF passages.
        """
        start, end = self.locator.start_s, self.locator.end_s
        if start is not None and self.source_key and _is_recording(self.source_type):
            fragment = f"#t={start:g}" + (f",{end:g}" if end is not None and end > start else "")
            return self.source_key, fragment
        if self.media_key:
            return self.media_key, ""
        if not self.source_key:
            return None
        page = self.locator.page
        fragment = f"#page={page}" if page and self.source_type == "application/pdf" else ""
        return self.source_key, fragment


def media_kind(media_type: str | None) -> str:
    """Return the family a media type counts under in job reports: pdf, text, image, audio,
    video, or other."""
    if not media_type:
        return "other"
    if media_type == "application/pdf":
        return "pdf"
    family = media_type.split("/")[0]
    return family if family in ("text", "image", "audio", "video") else "other"


def _is_recording(media_type: str | None) -> bool:
    return bool(media_type) and str(media_type).split("/")[0] in ("audio", "video")


@dataclass(frozen=True)
class Hit:
    """One ranked search result with what hydration adds from the catalog."""

    segment: Segment
    score: float
    channel_ranks: dict[str, int] = field(default_factory=dict)
    channel_scores: dict[str, float] = field(default_factory=dict)
    merged: tuple[str, ...] = ()  # segments of nearby times folded into this hit's span
