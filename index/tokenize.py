"""Tokenization shared by indexing and queries: Unicode-aware, lowercase."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Return the lowercase word tokens of ``text`` (letters and digits, NFKC-normalised)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
