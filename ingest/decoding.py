"""Bytes -> text: bounded reads, UTF-8 fast path, charset-normalizer for the rest."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from charset_normalizer import from_bytes

from mmrag.errors import BadInput

# More than this share of control characters (other than whitespace) means binary data.
_MAX_CONTROL_RATIO = 0.01
SAMPLE_CHARS = 64 * 1024
# C0/C1 controls other than tab, newlines, form feed and escape (ANSI colour codes).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """Return the bytes of ``path``, refusing files over ``max_bytes`` (``text_too_large``)."""
    size = path.stat().st_size
    if size == 0:
        raise BadInput(f"{path.name} is empty", code="empty_file")
    if size > max_bytes:
        raise BadInput(
            f"text file of {size} bytes exceeds the limit of {max_bytes}", code="text_too_large"
        )
    return path.read_bytes()


def decode_text(data: bytes) -> tuple[str, str]:
    """Return ``(text, encoding)`` for a whole file; ``text_not_decodable`` if it is binary."""
    text, encoding = _decode(data, complete=True)
    if text is None or _looks_binary(text):
        raise BadInput("file content is not decodable as text", code="text_not_decodable")
    return text.lstrip("\ufeff"), encoding


def decode_sample(sample: bytes) -> str | None:
    """Return the decoded start of a file, or None when it does not look like text."""
    if b"\x00" in sample and not sample.startswith(_BOMS[1:]):
        return None
    text, _ = _decode(sample, complete=False)
    if text is None or _looks_binary(text):
        return None
    return text


def _decode(data: bytes, *, complete: bool) -> tuple[str | None, str]:
    """Return the text and encoding of ``data``; a sample may end inside a character."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(data, final=complete), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        return None, ""
    return str(best), best.encoding


def _looks_binary(text: str) -> bool:
    """Return True when the start, middle or end of ``text`` is mostly control characters."""
    n = len(text)
    middle = max(0, n // 2 - SAMPLE_CHARS // 2)
    windows = {(0, SAMPLE_CHARS), (middle, middle + SAMPLE_CHARS), (max(0, n - SAMPLE_CHARS), n)}
    for start, end in windows:
        window = text[start:end]
        if window and len(_CONTROL.findall(window)) / len(window) > _MAX_CONTROL_RATIO:
            return True
    return False
