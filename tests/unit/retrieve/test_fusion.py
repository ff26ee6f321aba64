import statistics

import pytest

from retrieve.fusion import fuse, fuse_dbsf, fuse_minmax, fuse_rrf


def test_rrf_sums_reciprocal_ranks_with_weights() -> None:
    fused = fuse_rrf({"bm25": ["a", "b"], "text": ["b", "c"]}, k=60)
    assert [item for item, _, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] == 1 / 62 + 1 / 61
    assert fused[0][2] == {"bm25": 2, "text": 1}


def test_zero_weight_turns_a_channel_off() -> None:
    fused = fuse_rrf({"bm25": ["a"], "text": ["b"]}, weights={"bm25": 0, "text": 2})
    assert [(item, score) for item, score, _ in fused] == [("b", 2 / 61)]


def test_minmax_is_a_convex_combination_of_normalised_scores() -> None:
    scored = {"bm25": [("a", 12.0), ("b", 4.0), ("c", 2.0)], "text": [("c", 0.9), ("a", 0.5)]}
    fused = dict((item, score) for item, score, _ in fuse_minmax(scored, weights=W))
    # bm25: a 1, b 0.2, c 0; text: c 1, a 0; weights 1 and 3 over their sum 4
    assert fused == pytest.approx({"a": 0.25, "b": 0.05, "c": 0.75})


def test_minmax_gives_a_channel_of_equal_scores_full_marks() -> None:
    fused = fuse_minmax({"text": [("a", 0.4), ("b", 0.4)]})
    assert [(item, score) for item, score, _ in fused] == [("a", 1.0), ("b", 1.0)]


def test_dbsf_clips_at_three_sigma() -> None:
    scores = [("a", 10.0), ("b", 0.0), ("c", 0.0), ("d", 0.0)]
    mean, sigma = 2.5, statistics.pstdev([10.0, 0.0, 0.0, 0.0])
    fused = {item: s for item, s, _ in fuse_dbsf({"bm25": scores})}
    assert fused["a"] == pytest.approx(min((10 - mean + 3 * sigma) / (6 * sigma), 1.0))
    assert fused["b"] == pytest.approx((0 - mean + 3 * sigma) / (6 * sigma))
    outlier = {item: s for item, s, _ in fuse_dbsf({"bm25": [("x", 1000.0)] + scores * 5})}
    assert outlier["x"] == 1.0  # beyond mean + 3 sigma: clipped


def test_score_fusion_differs_from_rrf_where_score_gaps_matter() -> None:
    # bm25 is sure of "a" (a wide gap); text barely prefers "b": RRF ties them, scores do not.
    scored = {"bm25": [("a", 20.0), ("b", 1.0)], "text": [("b", 0.51), ("a", 0.50)]}
    assert fuse("rrf", scored)[0][1] == fuse("rrf", scored)[1][1]
    assert [item for item, _, _ in fuse("minmax", scored)] == ["a", "b"]
    assert [item for item, _, _ in fuse("dbsf", scored)] == ["a", "b"]
    assert fuse("minmax", scored)[0][2] == {"bm25": 1, "text": 2}


def test_fuse_refuses_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="known: rrf, minmax, dbsf"):
        fuse("borda", {"bm25": [("a", 1.0)]})


W = {"bm25": 1.0, "text": 3.0}
