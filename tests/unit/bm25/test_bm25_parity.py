"""Top-10 parity with rank-bm25's BM25Okapi on a 10k-segment Zipf corpus (issue 3)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from index.bm25.base import K1, B, TermDoc
from index.bm25.tantivy_index import TantivyBM25
from index.filters import Filter, Payload
from index.tokenize import Tokenizer

VOCAB, SEGMENTS, QUERIES = 20_000, 10_000, 100


CUM_WEIGHTS = list(itertools.accumulate(1.0 / r for r in range(1, VOCAB + 1)))


def zipf_words(rng: random.Random, count: int) -> list[str]:
    return [f"w{i}" for i in rng.choices(range(VOCAB), cum_weights=CUM_WEIGHTS, k=count)]


@pytest.mark.slow
def test_top10_overlaps_rank_bm25(tmp_path: Path) -> None:
    rng = random.Random(11)
    texts = [" ".join(zipf_words(rng, rng.randint(50, 150))) for _ in range(SEGMENTS)]
    # Queries come from the corpus distribution, common words included: no selection.
    queries = [" ".join(zipf_words(rng, rng.randint(2, 5))) for _ in range(QUERIES)]
    tokenizer = Tokenizer()
    index = TantivyBM25(tmp_path / "bm25", tokenizer)
    index.add([TermDoc(Payload(f"{i}", f"{i}", "c", "text", "t"), t) for i, t in enumerate(texts)])
    reference = BM25Okapi([tokenizer(t) for t in texts], k1=K1, b=B)  # its default k1 is 1.5
    overlaps = []
    for query in queries:
        scores = reference.get_scores(tokenizer(query))
        expected = {str(i) for i in np.argsort(-scores, kind="stable")[:10]}
        found = {h.segment_id for h in index.search(query, 10, Filter())}
        overlaps.append(len(found & expected) / 10)
    mean = sum(overlaps) / len(overlaps)
    print(f"top-10 overlap with rank-bm25: {mean:.3f} over {len(overlaps)} queries")
    assert mean >= 0.95
