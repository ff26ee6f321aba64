"""Positioned text blocks (PDF text blocks, OCR lines) -> passages with a union bbox."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ingest.base import ExtractOptions
from ingest.chunking import chunk_spans
from mmrag.domain import ExtractedSegment, Locator, Modality

BBox = tuple[float, float, float, float]
BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class TextBlock:
    """A piece of text and the box it occupies (PDF points or image pixels)."""

    text: str
    bbox: BBox


def join_blocks(blocks: Sequence[TextBlock]) -> tuple[str, list[tuple[int, int]]]:
    """Return the blocks' text joined by blank lines and each block's (start, end) in it."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    for block in blocks:
        if parts:
            offset += len(BLOCK_SEPARATOR)
        spans.append((offset, offset + len(block.text)))
        parts.append(block.text)
        offset += len(block.text)
    return BLOCK_SEPARATOR.join(parts), spans


def block_segments(
    blocks: Sequence[TextBlock], options: ExtractOptions, page: int | None = None
) -> Iterator[ExtractedSegment]:
    """Yield text passages over ``blocks``, each with the union bbox of the blocks it covers.

    ``char_start``/``char_end`` index the text of :func:`join_blocks` for the same blocks.
    """
    text, spans = join_blocks(blocks)
    for start, end in chunk_spans(text, options.chunk_chars, options.chunk_overlap_chars):
        covered = [b.bbox for b, (s, e) in zip(blocks, spans, strict=True) if s < end and e > start]
        yield ExtractedSegment(
            modality=Modality.TEXT,
            text=text[start:end],
            locator=Locator(page=page, bbox=union_bbox(covered), char_start=start, char_end=end),
        )


def union_bbox(boxes: Sequence[BBox]) -> BBox | None:
    """Return the smallest box holding all ``boxes`` (None for none), rounded to 0.01."""
    if not boxes:
        return None
    return (
        round(min(b[0] for b in boxes), 2),
        round(min(b[1] for b in boxes), 2),
        round(max(b[2] for b in boxes), 2),
        round(max(b[3] for b in boxes), 2),
    )
