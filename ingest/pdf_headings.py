"""Where a page's headings start: outline entries placed on their lines, or font headings.

An outline entry is found on its page by its title's letters (numbering, punctuation,
case and ligatures ignored) at or below its destination; a title the page does not show
starts its section at the destination instead. In font mode, a heading is a run of lines
of one block in a heading style (see :func:`ingest.pdf_structure._font_levels`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.pdf_lines import Line
from ingest.pdf_structure import (
    MAX_BOLD_HEADING_WORDS,
    MAX_HEADING_CHARS,
    DocumentLayout,
    OutlineEntry,
    size_class,
)

DEST_SLACK = 12.0  # points above a destination where its heading may still start
MATCH_CHARS = 40  # letters of a title compared with the page
MAX_TITLE_LINES = 4
OVERSHOOT_LETTERS = 4  # a body-font line may hold this much besides its title ("1.2 ...:")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class HeadingMark:
    """A heading starting at ``lines[index]`` of its page and ``length`` lines long."""

    index: int
    length: int
    level: int
    title: str


def page_headings(
    layout: DocumentLayout, lines: Sequence[Line], page: int, carried: Sequence[OutlineEntry] = ()
) -> tuple[list[HeadingMark], list[OutlineEntry]]:
    """Return the headings on one page (``lines`` without running lines), in order, and the
    outline entries (``carried`` ones first) it could not place."""
    if layout.mode == "outline":
        return outline_marks(layout, lines, [*carried, *layout.outline.get(page, [])])
    if layout.mode == "fonts":
        return font_marks(layout, lines), []
    return [], []


def outline_marks(
    layout: DocumentLayout, lines: Sequence[Line], entries: Sequence[OutlineEntry]
) -> tuple[list[HeadingMark], list[OutlineEntry]]:
    """Return a mark per outline entry of the page, each after the previous one, and the
    entries left over when the page has no line left below one."""
    marks: list[HeadingMark] = []
    floor = 0
    for number, entry in enumerate(entries):
        mark = _place(layout, lines, entry, floor)
        if mark is None:
            return marks, list(entries[number:])
        marks.append(mark)
        floor = mark.index + max(mark.length, 1)
    return marks, []


def _place(
    layout: DocumentLayout, lines: Sequence[Line], entry: OutlineEntry, floor: int
) -> HeadingMark | None:
    """Return where ``entry`` starts on the page, or None when nothing is left below it."""
    top = -1.0 if entry.y is None else entry.y - DEST_SLACK
    candidates = [i for i in range(floor, len(lines)) if lines[i].bbox[1] >= top]
    if not candidates:
        return None
    wanted = _letters(entry.title).lstrip("0123456789")
    for index in candidates:
        length = _title_length(lines, index, wanted)
        if length and _is_title_run(layout, lines[index : index + length], wanted):
            start = _styled_start(layout, lines, index, candidates[0])
            title = _clean(" ".join(ln.text for ln in lines[index : index + length]))
            return HeadingMark(start, index + length - start, entry.level, title)
    return HeadingMark(candidates[0], 0, entry.level, entry.title)


def _title_length(lines: Sequence[Line], index: int, title: str) -> int:
    """Return how many lines from ``index`` spell ``title`` (0 when its start is not there).

    The first :data:`MATCH_CHARS` letters must match; the heading then runs on as long as
    its lines keep spelling the title (a long title wraps over several lines).
    """
    seen, matched = "", 0
    for count, line in enumerate(lines[index : index + MAX_TITLE_LINES], 1):
        grown = (seen + _letters(line.text)).lstrip("0123456789")
        if grown and not (title.startswith(grown) or grown.startswith(title[:MATCH_CHARS])):
            break
        seen = grown
        if seen.startswith(title[:MATCH_CHARS]):
            matched = count
        if seen.startswith(title):
            break
    return matched


def _is_title_run(layout: DocumentLayout, run: Sequence[Line], title: str) -> bool:
    """Whether lines that begin with a title are its heading: in a heading font, or no
    more than the title (a body line "Introduction to pumps" is no heading "Intro")."""
    spelled = _letters(" ".join(line.text for line in run)).lstrip("0123456789")
    return layout.is_heading_style(run[0]) or len(spelled) <= len(title) + OVERSHOOT_LETTERS


def _styled_start(layout: DocumentLayout, lines: Sequence[Line], index: int, lowest: int) -> int:
    """Return the heading's first line: heading-styled lines right above it belong to it
    ("Chapter 1" above the chapter's title)."""
    while index > lowest and layout.is_heading_style(lines[index - 1]):
        index -= 1
    return index


def font_marks(layout: DocumentLayout, lines: Sequence[Line]) -> list[HeadingMark]:
    """Return the page's font headings: runs of heading-styled lines within one block."""
    marks: list[HeadingMark] = []
    index = 0
    while index < len(lines):
        level = font_level(layout, lines, index)
        if level is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].block == lines[index].block:
            if font_level(layout, lines, end) != level:
                break
            end += 1
        title = _clean(" ".join(ln.text for ln in lines[index:end]))
        marks.append(HeadingMark(index, end - index, level, title))
        index = end
    return marks


def font_level(layout: DocumentLayout, lines: Sequence[Line], index: int) -> int | None:
    """Return the heading level of ``lines[index]`` by its font, or None for body text."""
    line = lines[index]
    level = layout.heading_levels.get((size_class(line.size), line.bold))
    if level is None or len(line.text) > MAX_HEADING_CHARS:
        return None
    if not _letters(line.text).strip("0123456789"):  # a bare number ("3.1") is no title
        return None
    if size_class(line.size) > layout.body_size:
        return level
    block = [ln for ln in lines if ln.block == line.block]
    words = sum(len(ln.text.split()) for ln in block)
    short = len(block) <= 2 and words <= MAX_BOLD_HEADING_WORDS
    return level if short and all(ln.bold for ln in block) else None


def _letters(text: str) -> str:
    """Return ``text`` as lowercase ASCII letters and digits only (ligatures unfolded)."""
    folded = unicodedata.normalize("NFKD", text).lower()
    return _NOT_ALNUM.sub("", folded)


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()
