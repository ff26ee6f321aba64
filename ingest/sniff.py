"""Media type from content, never from the file name.

Binary formats are recognised by their magic numbers (``filetype``); anything else must
decode as text (UTF-8 fast path, then charset-normalizer) and is then told apart as HTML,
Markdown or plain text by looking at its first lines. Executables, archives, audio and
video are named so that :func:`ingest.extract.extract_file` can reject them clearly.
"""

from __future__ import annotations

import re
from pathlib import Path

import filetype

from ingest.decoding import decode_sample
from mmrag.errors import BadInput

OCTET_STREAM = "application/octet-stream"
SHELL_SCRIPT = "text/x-shellscript"
SAMPLE_BYTES = 64 * 1024

# WHATWG MIME sniffing: a document whose first tag is one of these is HTML. XHTML pages
# (the Debian FAQ's, DocBook output) open with an XML declaration, which an HTML parser
# may have turned into a comment ("<!--?xml ...?-->"): both may come before that tag.
_HTML_START = re.compile(
    r"\A(?:\ufeff)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
    r"<(?:!doctype\s+html|html|head|body|script|iframe|h[1-6]|div|font|"
    r"table|a|style|title|b|br|p|!--|meta|link|section|article|main|nav|header)[\s>/]",
    re.IGNORECASE | re.DOTALL,
)
_SVG = re.compile(r"\A(?:\ufeff)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<svg[\s>]", re.I | re.S)
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.M)
_MD_SETEXT = re.compile(r"^\S.*\n(?:=+|-+)[ \t]*$", re.M)
_MD_FENCE = re.compile(r"^(?:```|~~~)", re.M)
_MD_LINK = re.compile(r"!?\[[^\]\n]+\]\([^)\s]+[^)]*\)")
_MD_LIST = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+\S", re.M)
_MD_EMPHASIS = re.compile(r"(?:\*\*|__)\S[^\n]*?\S(?:\*\*|__)|`[^`\n]+`")
_CODE_LINE = re.compile(r"^(?:import |from \S+ import |def |class |#include|package |using )", re.M)


def sniff_media_type(path: Path) -> str:
    """Return the media type of ``path`` judged from its bytes.

    Raises :class:`BadInput` (``empty_file``) for an empty file; unrecognised binary
    content comes back as ``application/octet-stream``.
    """
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample:
        raise BadInput(f"{path.name} is empty", code="empty_file")
    return sniff_bytes(sample)


def sniff_bytes(sample: bytes) -> str:
    """Return the media type of a file whose first bytes are ``sample``."""
    kind = filetype.guess(sample)
    if kind is not None:
        return str(kind.mime)
    if b"%PDF-" in sample[:1024]:  # PDF readers accept junk before the header
        return "application/pdf"
    text = decode_sample(sample)
    if text is None:
        return OCTET_STREAM
    return _sniff_text(text)


def _sniff_text(text: str) -> str:
    """Return the text media type (HTML, Markdown, plain or a script) of ``text``."""
    head = text[:4096]
    if head.lstrip("\ufeff").startswith("#!"):
        return SHELL_SCRIPT
    if _SVG.match(head):
        return "image/svg+xml"
    if _HTML_START.match(head):
        return "text/html"
    if _markdown_score(text[:SAMPLE_BYTES]) >= 3:
        return "text/markdown"
    return "text/plain"


def _markdown_score(text: str) -> int:
    """Return how strongly ``text`` looks like Markdown (3 or more: it is Markdown)."""
    headings = len(_MD_HEADING.findall(text)) + len(_MD_SETEXT.findall(text))
    score = 2 * min(headings, 3) + 2 * min(len(_MD_FENCE.findall(text)), 2)
    score += min(len(_MD_LINK.findall(text)), 3) + min(len(_MD_LIST.findall(text)), 2)
    score += min(len(_MD_EMPHASIS.findall(text)), 2)
    return score - 2 * min(len(_CODE_LINE.findall(text)), 3)
