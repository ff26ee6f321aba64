"""Text -> passages of about ``chunk_chars`` with overlap, cut at natural boundaries.

Every passage keeps exact character offsets: ``text[start:end]`` is the passage, so a
citation can point back into its source. Cuts prefer, in order, a paragraph break, a
sentence end, a line break, a clause break and a word break in the second half of the
window; only a run with no whitespace at all is cut mid-word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ingest.base import ExtractOptions
from mmrag.domain import ExtractedSegment, Locator, Modality

_BREAK_GROUPS: tuple[tuple[str, ...], ...] = (
    ("\n\n",),
    (".\n", ". ", "?\n", "? ", "!\n", "! ", ".\t", "。"),
    ("\n",),
    ("; ", ", ", ": "),
    (" ", "\t"),
)
_NON_SPACE = re.compile(r"\S")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Section:
    """A run of document text under one heading path, starting at ``start`` in the doc."""

    path: str | None
    text: str
    start: int = 0


def chunk_spans(text: str, size: int, overlap: int) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` offsets of passages of at most ``size`` chars, trimmed."""
    n = len(text)
    pos = _skip_space(text, 0)
    while pos < n:
        end = n if pos + size >= n else _break_at(text, pos, pos + size)
        stop = end
        while stop > pos and text[stop - 1].isspace():
            stop -= 1
        if stop > pos:
            yield pos, stop
        if end >= n:
            return
        pos = _skip_space(text, _next_start(text, pos, stop, overlap))


def section_segments(
    sections: Iterable[Section], options: ExtractOptions, page: int | None = None
) -> Iterator[ExtractedSegment]:
    """Yield one text segment per passage, located by section path and document offsets."""
    for section in sections:
        for start, end in chunk_spans(
            section.text, options.chunk_chars, options.chunk_overlap_chars
        ):
            yield ExtractedSegment(
                modality=Modality.TEXT,
                text=section.text[start:end],
                locator=Locator(
                    page=page,
                    section=section.path,
                    char_start=section.start + start,
                    char_end=section.start + end,
                ),
            )


def _skip_space(text: str, pos: int) -> int:
    """Return the index of the first non-space character at or after ``pos``."""
    match = _NON_SPACE.search(text, pos)
    return match.start() if match else len(text)


def _break_at(text: str, start: int, limit: int) -> int:
    """Return the best cut in ``text[start:limit]``: just after a separator, or ``limit``."""
    floor = start + (limit - start) // 2
    for group in _BREAK_GROUPS:
        found = [i + len(sep) for sep in group if (i := text.rfind(sep, floor, limit)) >= 0]
        if found:
            return max(found)
    return limit


def _next_start(text: str, start: int, stop: int, overlap: int) -> int:
    """Return where the next passage starts: ``overlap`` chars back, moved to a word start."""
    if overlap <= 0:
        return stop
    candidate = max(stop - overlap, start + 1)
    if text[candidate - 1].isspace():
        return candidate
    match = _SPACE.search(text, candidate, stop)
    return match.start() if match else stop
