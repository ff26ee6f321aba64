"""Fusion of per-channel rankings: weighted RRF, and score-based (min-max, DBSF) combinations.

Every method returns ``(id, score, {channel: 1-based rank})`` best first; ties keep
first-seen order. A channel with weight <= 0 (or absent from ``weights``) is left out.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence

Fused = list[tuple[str, float, dict[str, int]]]
Scored = Mapping[str, Sequence[tuple[str, float]]]  # channel -> (id, score) best first
FUSION_METHODS = ("rrf", "minmax", "dbsf")


def fuse_rrf(
    rankings: Mapping[str, Sequence[str]],
    *,
    k: int = 60,
    weights: Mapping[str, float] | None = None,
) -> Fused:
    """Fuse per-channel rankings of ids; return (id, score, {channel: 1-based rank}) best first.

    score(id) = sum over channels of weight / (k + rank). Ties keep first-seen order.
    """
    normalised = {
        channel: [(item, 1.0 / (k + rank)) for rank, item in enumerate(ids, start=1)]
        for channel, ids in rankings.items()
    }
    return _weighted_sum(normalised, weights, divide=False)


def fuse_minmax(scored: Scored, *, weights: Mapping[str, float] | None = None) -> Fused:
    """Convex combination of min-max normalised scores (txtai's hybrid, Elastic's linear).

    score(id) = sum_c w_c * (s_c(id) - min_c) / (max_c - min_c) / sum_c w_c, where min_c and
    max_c are channel c's lowest and highest returned scores; a channel that did not return
    ``id`` adds 0, and one whose scores are all equal gives each of its hits 1.
    """
    return _weighted_sum({c: _minmax(hits) for c, hits in scored.items()}, weights)


def fuse_dbsf(scored: Scored, *, weights: Mapping[str, float] | None = None) -> Fused:
    """Distribution-based score fusion (Qdrant's DBSF): normalise by mean +- 3 sigma.

    With mu_c and sigma_c the mean and population standard deviation of channel c's
    returned scores: n_c(id) = clip((s_c(id) - (mu_c - 3 sigma_c)) / (6 sigma_c), 0, 1),
    score(id) = sum_c w_c * n_c(id) / sum_c w_c (absent: 0; sigma_c = 0: every hit 1).
    """
    return _weighted_sum({c: _three_sigma(hits) for c, hits in scored.items()}, weights)


def fuse(
    method: str,
    scored: Scored,
    *,
    weights: Mapping[str, float] | None = None,
    rrf_k: int = 60,
) -> Fused:
    """Fuse with ``method`` (one of :data:`FUSION_METHODS`); ValueError for another."""
    if method == "rrf":
        rankings = {c: [item for item, _ in hits] for c, hits in scored.items()}
        return fuse_rrf(rankings, k=rrf_k, weights=weights)
    by_name: dict[str, Callable[..., Fused]] = {"minmax": fuse_minmax, "dbsf": fuse_dbsf}
    if method not in by_name:
        raise ValueError(f"unknown fusion method {method!r}; known: {', '.join(FUSION_METHODS)}")
    return by_name[method](scored, weights=weights)


def _minmax(hits: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    if not hits:
        return []
    low, high = min(s for _, s in hits), max(s for _, s in hits)
    span = high - low
    return [(item, (s - low) / span if span > 0 else 1.0) for item, s in hits]


def _three_sigma(hits: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    if not hits:
        return []
    scores = [s for _, s in hits]
    mean, sigma = statistics.fmean(scores), statistics.pstdev(scores)
    if sigma <= 0:
        return [(item, 1.0) for item, _ in hits]
    low = mean - 3 * sigma
    return [(item, min(max((s - low) / (6 * sigma), 0.0), 1.0)) for item, s in hits]


def _weighted_sum(
    normalised: Scored, weights: Mapping[str, float] | None, *, divide: bool = True
) -> Fused:
    """Return sum_c w_c * n_c(id) (over sum_c w_c when ``divide``) with each id's ranks."""
    used = {c: 1.0 if weights is None else weights.get(c, 0.0) for c in normalised}
    used = {c: w for c, w in used.items() if w > 0}
    total = sum(used.values()) if divide else 1.0
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for channel, weight in used.items():
        for rank, (item, value) in enumerate(normalised[channel], start=1):
            scores[item] = scores.get(item, 0.0) + weight * value / total
            ranks.setdefault(item, {})[channel] = rank
    order = sorted(scores, key=lambda item: -scores[item])
    return [(item, scores[item], ranks[item]) for item in order]
