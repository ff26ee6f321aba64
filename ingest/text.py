"""Plain text and Markdown -> passages located by heading path and character offsets.

Offsets index the decoded text with line ends normalised to ``\\n``.
"""

from __future__ import annotations

from pathlib import Path

from ingest.base import Extraction, ExtractOptions
from ingest.chunking import Section, section_segments
from ingest.decoding import decode_text, read_bounded
from ingest.markdown import markdown_headings, markdown_sections, markdown_title
from mmrag.errors import UnsupportedMediaType

TEXT_TYPES = ("text/plain", "text/markdown")


def extract_text(path: Path, media_type: str, options: ExtractOptions) -> Extraction:
    """Return the passages of a plain-text or Markdown file and its metadata."""
    if media_type not in TEXT_TYPES:
        raise UnsupportedMediaType(f"extract_text cannot read {media_type}")
    text, encoding = read_document_text(path, options)
    metadata: dict[str, object] = {"encoding": encoding, "char_count": len(text)}
    if media_type == "text/markdown":
        headings = markdown_headings(text)
        sections = list(markdown_sections(text, headings))
        if title := markdown_title(headings):
            metadata["title"] = title
    else:
        sections = [Section(None, text, 0)]
    return Extraction(
        media_type=media_type,
        metadata=metadata,
        segments=section_segments(sections, options),
    )


def read_document_text(path: Path, options: ExtractOptions) -> tuple[str, str]:
    """Return the decoded text of ``path`` with ``\\n`` line ends, and its encoding."""
    text, encoding = decode_text(read_bounded(path, options.max_text_bytes))
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding
