"""Per-channel rankings of the probes in a temporary index (see :mod:`retrieve.tune_probes`).

BM25 is a temporary tantivy index with the live index's tokenizer (stemming and stop-word
settings), so its scores are the embedded engine's; the ``text`` channel is an exact
inner-product search over the sample encoded with the live text space (what a flat FAISS
index returns). Each channel ranks once; every fusion candidate then reuses the rankings.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.bm25.base import TermDoc
from index.bm25.tantivy_index import TantivyBM25
from index.filters import Filter, Payload
from index.spaces.base import Space
from index.tokenize import Tokenizer
from retrieve.tune_probes import Passage, Probe

Ranking = list[tuple[str, float]]  # (segment id, score) best first
Progress = Callable[[str, int, int], None]  # phase, done, total
DEPTH = 100
BATCH = 64


def rank_bm25(
    probes: Sequence[Probe], corpus: Sequence[Passage], tokenizer: Tokenizer, progress: Progress
) -> list[Ranking]:
    """Return each probe's BM25 ranking over ``corpus`` in a temporary index."""
    docs = [
        TermDoc(Payload(p.segment_id, p.document_id, "tune", "text", "text/plain"), p.indexed())
        for p in corpus
    ]
    with tempfile.TemporaryDirectory(prefix="mmrag-tune-") as tmp:
        index = TantivyBM25(Path(tmp) / "bm25", tokenizer)
        try:
            index.add(docs)
            rankings = []
            for done, probe in enumerate(probes, start=1):
                hits = index.search(probe.query, DEPTH, Filter())
                rankings.append([(h.segment_id, h.score) for h in hits])
                progress("bm25", done, len(probes))
        finally:
            index.close()
    return rankings


def rank_dense(
    probes: Sequence[Probe], corpus: Sequence[Passage], space: Space, progress: Progress
) -> list[Ranking]:
    """Return each probe's ranking by inner product in ``space`` over ``corpus``."""
    texts = [p.indexed() for p in corpus]
    rows = []
    for start in range(0, len(texts), BATCH):
        rows.append(space.encode_texts(texts[start : start + BATCH]))
        progress("encode", min(start + BATCH, len(texts)), len(texts))
    matrix = np.concatenate(rows) if rows else np.zeros((0, space.dim), np.float32)
    queries = space.encode_texts([p.query for p in probes])
    scores = queries @ matrix.T
    depth = min(DEPTH, len(corpus))
    rankings = []
    for row in scores:
        top = np.argpartition(-row, depth - 1)[:depth]
        top = top[np.argsort(-row[top], kind="stable")]
        rankings.append([(corpus[i].segment_id, float(row[i])) for i in top])
    return rankings
