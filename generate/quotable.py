"""Which source sentences an extractive answer may quote.

Not quotable: table-of-contents lines (dot leaders, a numbered heading ending in a page
number), running headers and footers (the same line on several sources, "Page 3 of 9"),
bare code (more symbols than words) and fragments with too few content words ("Item 5.",
"Yes."). Code may still follow a sentence that introduces it ("Use a dict: d = {}").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from generate.terms import terms

MIN_TERMS = 3
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}|…{2,}|(?:\s\.){3,}|_{4,}|(?:-\s?){6,}")
# "3.2 Installing packages 17": a numbered heading, then its page number.
_TOC_LINE = re.compile(
    r"^\s*(?:\d+(?:\.\d+)*\.?|[ivxlcIVXLC]+\.|[A-Z]\.)\s+[^.!?]{2,120}?\s+\d{1,4}$"
)
_PAGE_MARK = re.compile(r"^\s*(?:page\s+)?\d+\s*(?:of|/)\s*\d+\s*$|^\s*page\s+\d+\b", re.I)
_CODE_START = re.compile(
    r"^\s*(?:>>>|\.\.\.\s|\$\s|#include|import\s|from\s+\S+\s+import|def\s|class\s|return\s|"
    r"for\s+\w+\s+in\s|if\s+__name__|[{}])"
)
_SYMBOLS = frozenset("(){}[]<>=;_/\\|#$*+`~^&%@")
_WORD = re.compile(r"[A-Za-z]{2,}")


def is_code(text: str) -> bool:
    """Return True when ``text`` reads as code rather than prose."""
    if _CODE_START.match(text):
        return True
    symbols = sum(ch in _SYMBOLS for ch in text)
    words = _WORD.findall(text)
    return symbols >= 4 and symbols > 0.35 * len(words)


def is_toc_line(text: str) -> bool:
    """Return True for a table-of-contents line, a dot leader run or a page mark."""
    return bool(_DOT_LEADER.search(text) or _PAGE_MARK.match(text) or _TOC_LINE.match(text))


def quotable(text: str) -> bool:
    """Return True when ``text`` may stand as a sentence of an extractive answer."""
    if len(set(terms(text))) < MIN_TERMS or is_toc_line(text):
        return False
    prose, colon, _ = text.partition(": ")
    if colon and not is_code(prose) and len(set(terms(prose))) >= MIN_TERMS:
        return True  # an introduction, and the code it introduces
    return not is_code(text)


def repeated_lines(sentences_per_source: Sequence[Sequence[str]]) -> set[str]:
    """Return sentences found in two or more sources: running headers and footers."""
    counts = Counter(s for per_source in sentences_per_source for s in set(per_source))
    return {s for s, n in counts.items() if n > 1}
