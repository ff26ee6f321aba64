"""Markdown -> sections keyed by heading path ("Intro > Setup"), with source offsets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingest.chunking import Section

PATH_SEPARATOR = " > "


@dataclass(frozen=True)
class Heading:
    """A top-level heading: its level (1-6), plain title and first source line."""

    level: int
    title: str
    line: int


def markdown_headings(text: str) -> list[Heading]:
    """Return the document's top-level headings (ATX and setext) in order."""
    tokens = MarkdownIt("commonmark").parse(text)
    headings: list[Heading] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0 and token.map:
            title = _plain_inline(tokens[index + 1])
            headings.append(Heading(int(token.tag[1]), title, token.map[0]))
    return headings


def markdown_sections(text: str, headings: list[Heading]) -> Iterator[Section]:
    """Yield the text before the first heading and then one section per heading.

    A section runs from its heading line to the next heading line, so the heading text
    stays searchable; ``text`` must already have ``\\n`` line ends (offsets index it).
    """
    starts = _line_starts(text)
    stack: list[Heading] = []
    first = starts[headings[0].line] if headings else len(text)
    if first > 0:
        yield Section(None, text[:first], 0)
    for index, heading in enumerate(headings):
        stack = [h for h in stack if h.level < heading.level] + [heading]
        begin = starts[heading.line]
        end = starts[headings[index + 1].line] if index + 1 < len(headings) else len(text)
        yield Section(PATH_SEPARATOR.join(h.title for h in stack), text[begin:end], begin)


def markdown_title(headings: list[Heading]) -> str | None:
    """Return the first H1's title, or None."""
    return next((h.title for h in headings if h.level == 1 and h.title), None)


def _line_starts(text: str) -> list[int]:
    """Return the offset of each line's first character (plus one past the end)."""
    starts = [0]
    position = text.find("\n")
    while position >= 0:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    starts.append(len(text))
    return starts


def _plain_inline(token: Token) -> str:
    """Return the plain text of an inline token (markup such as emphasis dropped)."""
    if not token.children:
        return token.content.strip()
    parts = [c.content for c in token.children if c.type in ("text", "code_inline")]
    return "".join(parts).strip() or token.content.strip()
