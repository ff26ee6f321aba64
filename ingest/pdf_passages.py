"""Lines of a PDF, page after page -> passages that never straddle two sections.

A section runs from one heading to the next, across pages; its lines are joined (a line
break inside a block, a blank line between blocks) and chunked like any text. A passage
keeps its first page and the box of its lines there, and lists one box per page or column
it covers when it covers more than one. Offsets index the document's passage text: every
section's text, joined by blank lines, in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ingest.base import ExtractOptions
from ingest.chunking import chunk_spans
from ingest.layout import BLOCK_SEPARATOR, union_bbox
from ingest.markdown import PATH_SEPARATOR
from ingest.pdf_lines import Line
from mmrag.domain import ExtractedSegment, Locator, Modality, PageBox

MAX_SECTION_CHUNKS = 40  # a longer section is flushed in parts: memory stays bounded


@dataclass
class PassageBuilder:
    """Collects a section's lines and yields its passages when the section ends."""

    options: ExtractOptions
    path: str | None = None
    offset: int = 0
    lines: list[Line] = field(default_factory=list)
    has_body: bool = False
    chars: int = 0
    _stack: list[tuple[int, str]] = field(default_factory=list)

    def heading(self, level: int, title: str) -> Iterator[ExtractedSegment]:
        """Start a section; the last one's passages come out unless it held only headings
        (a chapter title right above its first section's title), which join the new one."""
        if self.has_body:
            yield from self.flush()
        self._stack = [(lvl, t) for lvl, t in self._stack if lvl < level] + [(level, title)]
        self.path = PATH_SEPARATOR.join(t for _, t in self._stack)

    def add(self, line: Line, *, body: bool = True) -> Iterator[ExtractedSegment]:
        """Add a line of the current section (``body=False`` for its heading's lines)."""
        limit = MAX_SECTION_CHUNKS * self.options.chunk_chars
        # Past the limit, cut at the next block; past twice the limit (one giant block), now.
        over = self.chars > limit and bool(self.lines)
        if over and (_new_block(self.lines[-1], line) or self.chars > 2 * limit):
            yield from self.flush()
        self.lines.append(line)
        self.chars += len(line.text) + 1
        self.has_body = self.has_body or body

    def flush(self) -> Iterator[ExtractedSegment]:
        """Yield the passages of the lines collected so far, and start empty."""
        lines, self.lines, self.has_body, self.chars = self.lines, [], False, 0
        if not lines:
            return
        text, spans = join_lines(lines)
        size, overlap = self.options.chunk_chars, self.options.chunk_overlap_chars
        for start, end in chunk_spans(text, size, overlap):
            covered = [ln for ln, (s, e) in zip(lines, spans, strict=True) if s < end and e > start]
            at = self.offset
            yield _passage(text[start:end], covered, self.path, at + start, at + end)
        self.offset += len(text) + len(BLOCK_SEPARATOR)


def join_lines(lines: Sequence[Line]) -> tuple[str, list[tuple[int, int]]]:
    """Return the lines' text (newline within a block, blank line between blocks) and
    each line's (start, end) in it."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    for index, line in enumerate(lines):
        if index:
            separator = BLOCK_SEPARATOR if _new_block(lines[index - 1], line) else "\n"
            parts.append(separator)
            offset += len(separator)
        spans.append((offset, offset + len(line.text)))
        parts.append(line.text)
        offset += len(line.text)
    return "".join(parts), spans


def passage_boxes(lines: Sequence[Line]) -> list[PageBox]:
    """Return one box per page and column the lines cover, in reading order.

    A new box starts on a new page, or where the text climbs back up (the next column).
    """
    groups: list[list[Line]] = []
    for line in lines:
        last = groups[-1][-1] if groups else None
        if last is None or line.page != last.page or line.bbox[1] < last.bbox[1] - 2:
            groups.append([line])
        else:
            groups[-1].append(line)
    boxes = []
    for group in groups:
        box = union_bbox([ln.bbox for ln in group])
        assert box is not None  # groups are never empty
        boxes.append(PageBox(group[0].page, box))
    return boxes


def _passage(
    text: str, lines: Sequence[Line], section: str | None, start: int, end: int
) -> ExtractedSegment:
    first = lines[0].page
    boxes = passage_boxes(lines)
    return ExtractedSegment(
        modality=Modality.TEXT,
        text=text,
        locator=Locator(
            page=first,
            bbox=union_bbox([ln.bbox for ln in lines if ln.page == first]),
            section=section,
            char_start=start,
            char_end=end,
            boxes=tuple(boxes) if len(boxes) > 1 else None,
        ),
    )


def _new_block(previous: Line, line: Line) -> bool:
    return (previous.page, previous.block) != (line.page, line.block)
