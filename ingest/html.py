"""HTML -> main text as passages under their heading path (BeautifulSoup + lxml).

Scripts, styles, navigation, footers, forms and similar chrome are dropped. The visible
text becomes one document text (blocks separated by blank lines); passage offsets index
that text, and ``Locator.section`` is the heading path ("Intro > Setup").
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag, XMLParsedAsHTMLWarning
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

from ingest.base import Extraction, ExtractOptions
from ingest.chunking import Section, section_segments
from ingest.decoding import read_bounded
from ingest.markdown import PATH_SEPARATOR

_DROP = [
    "script", "style", "noscript", "template", "nav", "footer", "aside", "form", "button",
    "select", "svg", "canvas", "iframe", "object", "embed", "head", "menu", "dialog",
]  # fmt: skip
_HEADINGS = frozenset(f"h{level}" for level in range(1, 7))
_BLOCKS = _HEADINGS | frozenset(
    ("p", "div", "li", "pre", "td", "th", "tr", "blockquote", "dt", "dd", "figcaption",
     "caption", "section", "article", "main", "header", "table", "ul", "ol", "dl", "body")
)  # fmt: skip
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")
BLOCK_SEPARATOR = "\n\n"


def extract_html(path: Path, media_type: str, options: ExtractOptions) -> Extraction:
    """Return the passages of an HTML page and its metadata (title, language)."""
    with warnings.catch_warnings():  # XHTML is read as HTML on purpose: say nothing each time
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(read_bounded(path, options.max_text_bytes), "lxml")
    metadata: dict[str, object] = {}
    if soup.title and (title := _clean(soup.title.get_text())):
        metadata["title"] = title
    if isinstance(html := soup.find("html"), Tag) and isinstance(lang := html.get("lang"), str):
        metadata["language"] = lang
    if soup.original_encoding:
        metadata["encoding"] = soup.original_encoding
    for tag in soup.find_all(_DROP):
        tag.decompose()
    root = soup.body or soup
    sections = list(_sections(_blocks(root)))
    if "title" not in metadata:
        first_h1 = root.find("h1")
        if first_h1 is not None and (title := _clean(first_h1.get_text())):
            metadata["title"] = title
    metadata["char_count"] = sum(len(s.text) for s in sections)
    return Extraction(
        media_type=media_type, metadata=metadata, segments=section_segments(sections, options)
    )


def _blocks(root: Tag | BeautifulSoup) -> Iterator[tuple[str | None, str]]:
    """Yield ``(heading tag or None, text)`` for each visible block, in document order."""
    current: Tag | None = None
    parts: list[str] = []
    for node in root.descendants:
        if not isinstance(node, NavigableString) or isinstance(node, _SKIPPED_STRINGS):
            continue
        block = next((p for p in node.parents if p.name in _BLOCKS), None)
        if block is not current and parts:
            yield from _flush(current, parts)
            parts = []
        current = block
        parts.append(str(node))
    yield from _flush(current, parts)


def _flush(block: Tag | None, parts: list[str]) -> Iterator[tuple[str | None, str]]:
    """Yield the cleaned text of one block, tagged with its heading level if it is one."""
    if text := _clean("".join(parts)):
        heading = block.name if block is not None and block.name in _HEADINGS else None
        yield heading, text


def _sections(blocks: Iterator[tuple[str | None, str]]) -> Iterator[Section]:
    """Yield sections: blocks grouped under each heading, with offsets in the joined text."""
    stack: list[tuple[int, str]] = []
    path: str | None = None
    lines: list[str] = []
    offset = 0
    for heading, text in blocks:
        if heading is not None and lines:
            body = BLOCK_SEPARATOR.join(lines)
            yield Section(path, body, offset)
            offset += len(body) + len(BLOCK_SEPARATOR)
            lines = []
        if heading is not None:
            level = int(heading[1])
            stack = [(lvl, title) for lvl, title in stack if lvl < level] + [(level, text)]
            path = PATH_SEPARATOR.join(title for _, title in stack)
        lines.append(text)
    if lines:
        yield Section(path, BLOCK_SEPARATOR.join(lines), offset)


def _clean(text: str) -> str:
    """Return ``text`` with runs of whitespace collapsed to one space, trimmed."""
    return _SPACES.sub(" ", text).strip()
