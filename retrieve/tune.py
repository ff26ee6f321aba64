"""Tune fusion to a collection: evaluate methods x weights x rrf_k on inverse-cloze probes.

Probes and their rankings come from :mod:`retrieve.tune_probes` and :mod:`retrieve.tune_rank`
(the ``bm25`` and ``text`` channels: the two that rank text passages). Every candidate is
scored on the same rankings by recall@1, recall@10 and nDCG@10 of the probe's own passage
(1 / log2(1 + rank) when it is in the top 10, else 0); the winner has the best nDCG@10, then
recall@10, then recall@1, and on a tie the settings' default stays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from index.spaces.base import Space
from index.tokenize import Tokenizer
from mmrag.catalog.db import Catalog
from mmrag.errors import Conflict
from mmrag.settings import Settings
from retrieve.fusion import fuse
from retrieve.tune_probes import Probe, load_passages, sample_probes
from retrieve.tune_rank import Progress, Ranking, rank_bm25, rank_dense

TUNED_CHANNELS = ("bm25", "text")
WEIGHT_SETS = ((0.2, 1.0), (0.3, 1.0), (0.5, 1.0), (0.7, 1.0), (1.0, 1.0), (1.0, 0.7), (1.0, 0.5))
RRF_KS = (10, 20, 30, 60)
MIN_PASSAGES = 30
MIN_PROBES = 20
K = 10


@dataclass(frozen=True)
class Candidate:
    method: str
    weights: dict[str, float]
    rrf_k: int = 60

    @property
    def name(self) -> str:
        weights = " ".join(f"{c}={w:g}" for c, w in self.weights.items() if w > 0)
        return f"{self.method} {weights}" + (f" k={self.rrf_k}" if self.method == "rrf" else "")

    def choice(self) -> dict[str, object]:
        """Return what a collection's settings store: method, weights, rrf_k."""
        return {"method": self.method, "weights": dict(self.weights), "rrf_k": self.rrf_k}


@dataclass(frozen=True)
class Scores:
    recall_at_1: float
    recall_at_10: float
    ndcg_at_10: float

    def key(self) -> tuple[float, float, float]:
        return (self.ndcg_at_10, self.recall_at_10, self.recall_at_1)


@dataclass(frozen=True)
class TuneReport:
    """Every candidate's scores (single channels first), the winner and the default."""

    queries: int
    passages: int
    rows: list[tuple[Candidate, Scores]]
    winner: Candidate
    default: Candidate
    singles: list[str] = field(default_factory=lambda: list(TUNED_CHANNELS))

    def scores(self, candidate: Candidate) -> Scores:
        return next(s for c, s in self.rows if c == candidate)

    def best_single(self) -> tuple[Candidate, Scores]:
        return max(self.rows[: len(self.singles)], key=lambda row: row[1].key())

    def margin(self, candidate: Candidate) -> dict[str, float]:
        """Return candidate - best single channel, per metric (best single per metric)."""
        singles = [s for _, s in self.rows[: len(self.singles)]]
        mine = self.scores(candidate)
        return {
            m: getattr(mine, m) - max(getattr(s, m) for s in singles)
            for m in ("recall_at_1", "recall_at_10", "ndcg_at_10")
        }


def default_candidate(settings: Settings) -> Candidate:
    """Return the fusion a collection uses before it is tuned (the settings)."""
    weights = {c: float(settings.channel_weights.get(c, 0.0)) for c in TUNED_CHANNELS}
    return Candidate(settings.fusion_method, weights, settings.rrf_k)


def candidates(default: Candidate) -> list[Candidate]:
    """Return the single channels, the default, then methods x weight sets x rrf_k."""
    singles = [Candidate("rrf", {c: 1.0}) for c in TUNED_CHANNELS]
    grid = [default]
    for bm25, text in WEIGHT_SETS:
        weights = {"bm25": bm25, "text": text}
        grid += [Candidate("rrf", weights, k) for k in RRF_KS]
        grid += [Candidate(m, weights, default.rrf_k) for m in ("minmax", "dbsf")]
    unique = {c.name: c for c in grid}  # the default first; a grid twin is not repeated
    return singles + list(unique.values())


def evaluate(
    candidate: Candidate, probes: Sequence[Probe], rankings: Mapping[str, Sequence[Ranking]]
) -> Scores:
    """Return recall@1, recall@10 and nDCG@10 of each probe's own passage under ``candidate``."""
    ranks: list[int | None] = []
    for i, probe in enumerate(probes):
        fused = fuse(
            candidate.method,
            {c: rankings[c][i] for c in rankings},
            weights=candidate.weights,
            rrf_k=candidate.rrf_k,
        )
        top = [item for item, _, _ in fused[:K]]
        ranks.append(top.index(probe.segment_id) + 1 if probe.segment_id in top else None)
    n = max(len(ranks), 1)
    found = [r for r in ranks if r is not None]
    return Scores(
        recall_at_1=sum(r == 1 for r in found) / n,
        recall_at_10=len(found) / n,
        ndcg_at_10=sum(1 / math.log2(r + 1) for r in found) / n,
    )


def require_passages(collection: str, passages: int) -> None:
    """Raise Conflict (409) when ``passages`` are too few to tune on."""
    if passages < MIN_PASSAGES:
        raise Conflict(
            f"collection {collection!r} holds {passages} indexed text passages; tuning needs "
            f"at least {MIN_PASSAGES}",
            code="collection_too_small",
        )


def tune_collection(
    catalog: Catalog,
    text_space: Callable[[], Space],
    settings: Settings,
    collection: str,
    progress: Progress = lambda phase, done, total: None,
) -> TuneReport:
    """Build probes from ``collection``, rank them per channel, and score every candidate.

    Conflict (409) when the collection holds too few passages or sentences to probe with.
    """
    passages = load_passages(catalog, collection)
    require_passages(collection, len(passages))
    probes, corpus = sample_probes(passages, settings.tune_queries, settings.tune_passages)
    if len(probes) < MIN_PROBES:
        raise Conflict(
            f"only {len(probes)} passages of {collection!r} open with a sentence of "
            f">= 6 words followed by >= 20 more; tuning needs {MIN_PROBES}",
            code="too_few_probes",
        )
    rankings = {
        "bm25": rank_bm25(probes, corpus, Tokenizer.from_settings(settings), progress),
        "text": rank_dense(probes, corpus, text_space(), progress),
    }
    default = default_candidate(settings)
    grid = candidates(default)
    rows = []
    for done, candidate in enumerate(grid, start=1):
        rows.append((candidate, evaluate(candidate, probes, rankings)))
        progress("fuse", done, len(grid))
    fused = rows[len(TUNED_CHANNELS) :]
    winner = max(fused, key=lambda row: row[1].key())[0]  # first best: the default on a tie
    return TuneReport(len(probes), len(corpus), rows, winner, default)
