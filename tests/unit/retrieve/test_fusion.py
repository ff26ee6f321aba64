from retrieve.fusion import fuse_rrf


def test_rrf_sums_reciprocal_ranks_with_weights() -> None:
    fused = fuse_rrf({"bm25": ["a", "b"], "text": ["b", "c"]}, k=60)
    assert [item for item, _, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] == 1 / 62 + 1 / 61
    assert fused[0][2] == {"bm25": 2, "text": 1}


def test_zero_weight_turns_a_channel_off() -> None:
    fused = fuse_rrf({"bm25": ["a"], "text": ["b"]}, weights={"bm25": 0, "text": 2})
    assert [(item, score) for item, score, _ in fused] == [("b", 2 / 61)]
