"""Fused hits -> numbered, delimited sources within a token budget.

Each source is one hit: its text (passage, OCR text, transcript span) with where it comes
from (page, section, time range), and for pictures (images, page renders, video frames) the
picture itself, given only to backends that accept images. Source text is data: it is
fenced between ``<source>`` tags that the text itself cannot close or open.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generate.terms import sentences
from mmrag.domain import Hit, Modality, Segment

if TYPE_CHECKING:
    from generate.evidence import Evidence

PICTURES = frozenset({Modality.IMAGE, Modality.PAGE_IMAGE, Modality.VIDEO_FRAME})
_TAG = re.compile(r"<(/?\s*source\b)", re.IGNORECASE)
_MIN_PIECE_TOKENS = 40  # a truncated source shorter than this is left out instead

MediaLoader = Callable[[str], bytes]


def estimate_tokens(text: str) -> int:
    """Return a model-independent token estimate (~4 characters per token)."""
    return max(1, (len(text) + 3) // 4)


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}"


def describe_locator(segment: Segment) -> str:
    """Return where ``segment`` sits, for people and prompts: "page 3, 0:12.0-0:20.5"."""
    loc = segment.locator
    parts = []
    if loc.page is not None:
        parts.append(f"page {loc.page}")
    if loc.section:
        parts.append(f"section {loc.section}")
    if loc.start_s is not None:
        end = f"-{format_seconds(loc.end_s)}" if loc.end_s is not None else ""
        parts.append(f"time {format_seconds(loc.start_s)}{end}")
    if loc.bbox is not None:
        parts.append("region " + ",".join(f"{v:g}" for v in loc.bbox))
    return ", ".join(parts) or "whole document"


@dataclass(frozen=True)
class Source:
    """One numbered source: the hit, the text given to the backend, and maybe its picture."""

    n: int
    hit: Hit
    text: str
    image: bytes | None = None
    truncated: bool = False

    @property
    def segment(self) -> Segment:
        return self.hit.segment

    @property
    def where(self) -> str:
        return describe_locator(self.segment)

    def fenced(self) -> str:
        """Return the source as a delimited block whose text cannot break out of it."""
        seg = self.segment
        kind = seg.modality.value + (", picture attached" if self.image is not None else "")
        body = _TAG.sub(r"&lt;\1", self.text) or "(no text)"
        return f'<source n="{self.n}" kind="{kind}" where="{_attr(self.where)}">\n{body}\n</source>'


@dataclass(frozen=True)
class Context:
    question: str
    sources: list[Source]
    left_out: int = 0  # hits that did not fit the budget
    question_image: bytes | None = None  # a picture that is part of the question
    evidence: Evidence | None = None  # set by generate.answer once it has weighed the sources

    def by_number(self) -> dict[int, Source]:
        return {s.n: s for s in self.sources}

    @property
    def images(self) -> list[Source]:
        return [s for s in self.sources if s.image is not None]


def build_context(
    question: str,
    hits: Sequence[Hit],
    *,
    budget_tokens: int,
    image_tokens: int = 256,
    max_images: int = 0,
    load_media: MediaLoader | None = None,
    question_image: bytes | None = None,
) -> Context:
    """Number ``hits`` best first into sources until ``budget_tokens`` is spent.

    A picture costs ``image_tokens``; at most ``max_images`` are attached (``load_media``
    reads a blob); ``question_image`` is kept (and charged) when pictures are wanted at all.
    A source whose text does not fit is cut at a sentence end, or left out
    when too little of it would remain; later, smaller sources may still fit.
    """
    left = budget_tokens - estimate_tokens(question)
    if max_images <= 0:
        question_image = None
    elif question_image is not None:
        left -= image_tokens
    sources: list[Source] = []
    left_out = 0
    for hit in hits:
        image = None
        seg = hit.segment
        if len(_images(sources)) < max_images and load_media and _is_picture(seg):
            image = load_media(seg.media_key)  # type: ignore[arg-type]
        cost = (image_tokens if image is not None else 0) + 20  # 20: fence and locator
        text, truncated = _fit(seg.text, left - cost)
        if text is None:
            left_out += 1
            continue
        left -= cost + estimate_tokens(text)
        sources.append(Source(len(sources) + 1, hit, text, image, truncated))
    return Context(question, sources, left_out, question_image)


def _images(sources: list[Source]) -> list[Source]:
    return [s for s in sources if s.image is not None]


def _is_picture(segment: Segment) -> bool:
    return segment.modality in PICTURES and segment.media_key is not None


def _fit(text: str, tokens: int) -> tuple[str | None, bool]:
    """Return ``text`` or its longest sentence prefix within ``tokens``, and if it was cut."""
    if tokens <= 0:
        return None, False
    if estimate_tokens(text) <= tokens:
        return text, False
    kept: list[str] = []
    for sentence in sentences(text):
        if estimate_tokens(" ".join([*kept, sentence])) > tokens:
            break
        kept.append(sentence)
    piece = " ".join(kept)
    if not kept or estimate_tokens(piece) < min(_MIN_PIECE_TOKENS, tokens):
        return None, False
    return piece, True


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
