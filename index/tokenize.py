"""Tokenization shared by indexing and queries: Unicode-aware, lowercase, optional stemming.

Every BM25 backend receives the tokens produced here, never raw text, so documents and
queries are always split, folded, stemmed and filtered the same way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Protocol

import Stemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Lucene's English stop set: short, and safe for search (no content words).
ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)


class TokenizerSettings(Protocol):
    bm25_stemming: bool
    bm25_stopwords: bool


def tokenize(text: str) -> list[str]:
    """Return the lowercase word tokens of ``text`` (letters and digits, NFKC-normalised)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True)
class Tokenizer:
    """Text -> index terms; one instance serves documents and queries alike."""

    stemming: bool = False
    stopwords: bool = False
    _stemmer: Stemmer.Stemmer | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        stemmer = Stemmer.Stemmer("english") if self.stemming else None
        object.__setattr__(self, "_stemmer", stemmer)

    @classmethod
    def from_settings(cls, settings: TokenizerSettings) -> Tokenizer:
        """Build the tokenizer that ``bm25_stemming`` and ``bm25_stopwords`` describe."""
        return cls(stemming=settings.bm25_stemming, stopwords=settings.bm25_stopwords)

    def __call__(self, text: str) -> list[str]:
        """Return the terms of ``text``: tokens, minus stop words, stemmed if enabled."""
        tokens = tokenize(text)
        if self.stopwords:
            tokens = [t for t in tokens if t not in ENGLISH_STOPWORDS]
        if self._stemmer is not None:
            tokens = self._stemmer.stemWords(tokens)
        return tokens

    @property
    def name(self) -> str:
        """Return a short id of this configuration, stored with an index to catch changes."""
        stop = "+stop-en" if self.stopwords else ""
        return f"unicode-lower{stop}{'+snowball-en' if self.stemming else ''}"
