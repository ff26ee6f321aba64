"""Words that carry meaning, and how much of one text another covers.

Support and evidence checks compare *terms*: lowercase word tokens, minus English stop words
and question words, Snowball-stemmed, so "installing packages" and "install a package" meet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import Stemmer

from index.tokenize import tokenize

# Words a question is made of whatever it asks; they say nothing about the topic.
_WORDS = """a about above after all also am an and any are as at be because been being but by can
    could did do does doing done for from get got had has have how i if in into is it its
    me more most my no not of on one or other our out should so some such than that the
    their them then there these they this those to too up us use used using very was way we
    were what when where which who whom why will with would you your yes"""
_FUNCTION_WORDS = frozenset(_WORDS.split())
_STEMMER = Stemmer.Stemmer("english")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[`])|\n\s*\n")


def terms(text: str) -> list[str]:
    """Return the content terms of ``text`` (stemmed, no function words), in order."""
    words = [w for w in tokenize(text) if w not in _FUNCTION_WORDS and len(w) > 1]
    return list(_STEMMER.stemWords(words))


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences (whitespace collapsed, empty pieces dropped)."""
    pieces = (" ".join(p.split()) for p in _SENTENCE_END.split(text))
    return [p for p in pieces if p]


def idf(vocabulary: Iterable[str], documents: Sequence[set[str]]) -> dict[str, float]:
    """Return an IDF weight per term over ``documents``; a term found nowhere weighs most."""
    n = len(documents)
    return {
        term: math.log(1 + (n + 1) / (sum(term in d for d in documents) + 0.5))
        for term in set(vocabulary)
    }


def coverage(wanted: Iterable[str], found: set[str], weights: dict[str, float]) -> float:
    """Return the weighted share of the ``wanted`` terms that ``found`` contains (0..1)."""
    unique = set(wanted)
    total = sum(weights.get(t, 1.0) for t in unique)
    if total == 0:
        return 0.0
    return sum(weights.get(t, 1.0) for t in unique if t in found) / total
