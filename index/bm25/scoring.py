"""Okapi BM25 term weights, computed the way rank-bm25's ``BM25Okapi`` does.

Backends whose engine scores with another IDF (tantivy and Lucene use
``ln(1 + (N - n + 0.5) / (n + 0.5))``) boost each query term by ``okapi / engine`` so the
final score is the Okapi one; the tf part (k1, b, average length) is the engine's own.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

# rank-bm25's floor for negative IDF (terms in more than half the documents):
# EPSILON times the mean IDF over the whole vocabulary.
EPSILON = 0.25


def okapi_idf(num_docs: int, doc_freq: int) -> float:
    """Return ``ln((N - n + 0.5) / (n + 0.5))``; negative for terms in most documents."""
    return math.log((num_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def lucene_idf(num_docs: int, doc_freq: int) -> float:
    """Return the always-positive IDF of Lucene and tantivy."""
    return math.log(1.0 + (num_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def mean_idf(num_docs: int, doc_freqs: Iterable[int]) -> float:
    """Return the mean Okapi IDF over a vocabulary (the base of rank-bm25's floor)."""
    total, n = 0.0, 0
    for df in doc_freqs:
        total += okapi_idf(num_docs, df)
        n += 1
    return total / n if n else 0.0


def floored_idf(num_docs: int, doc_freq: int, floor: float) -> float:
    """Return the Okapi IDF, replaced by ``floor`` where it is negative (rank-bm25)."""
    idf = okapi_idf(num_docs, doc_freq)
    return floor if idf < 0 else idf


def query_terms(tokens: Sequence[str]) -> Counter[str]:
    """Return each query term with its multiplicity (a repeated term counts again)."""
    return Counter(tokens)
