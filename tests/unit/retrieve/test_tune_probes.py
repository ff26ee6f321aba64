"""Inverse-cloze probes: the query is cut from its passage and leaks nowhere else."""

from __future__ import annotations

from retrieve.tune_probes import Passage, sample_probes, split_first_sentence

REST = " ".join(["Then it goes on about other things."] * 4)  # 28 words


def _passage(n: int, text: str, context: str = "Guide > Setup") -> Passage:
    return Passage(f"s{n}", "d", context, text)


def test_the_first_sentence_is_split_off_when_both_parts_are_long_enough() -> None:
    first = "The pump moves cooling water through the loop."
    assert split_first_sentence(f"{first} {REST}") == (first, REST)
    assert split_first_sentence(f"Too short. {REST}") is None
    assert split_first_sentence(f"{first} Only a few words follow.") is None
    code = "x = f(a, b); y = g(x) + h(1, 2, 3) for i in range(9)."
    assert split_first_sentence(f"{code} {REST}") is None  # not prose


def test_a_probes_sentence_is_removed_from_the_passage_that_is_indexed() -> None:
    first = "The pump moves cooling water through the loop."
    probes, corpus = sample_probes([_passage(1, f"{first} {REST}")], queries=5, size=10)
    assert [(p.query, p.segment_id) for p in probes] == [(first, "s1")]
    assert first not in corpus[0].indexed() and corpus[0].indexed().startswith("Guide > Setup")


def test_a_passage_opening_with_its_heading_probes_with_the_next_sentence() -> None:
    first = "The pump moves cooling water through the loop."
    passage = _passage(1, f"Setup {first} {REST}")
    probes, _ = sample_probes([passage], queries=5, size=10)
    assert [p.query for p in probes] == [first]


def test_a_sentence_found_elsewhere_in_the_sample_is_not_a_probe() -> None:
    first = "The pump moves cooling water through the loop."
    elsewhere = [_passage(1, f"{first} {REST}"), _passage(2, f"As said: {first.lower()}")]
    assert sample_probes(elsewhere, queries=5, size=10)[0] == []
    in_a_heading = [_passage(1, f"{first} {REST}", context=f"Guide > {first}")]
    assert sample_probes(in_a_heading, queries=5, size=10)[0] == []


def test_sampling_is_deterministic_and_bounded() -> None:
    passages = [_passage(n, f"Sentence number {n} says something useful here. {REST}")
                for n in range(50)]  # fmt: skip
    probes, corpus = sample_probes(passages, queries=7, size=30)
    assert len(probes) == 7 and len(corpus) == 30
    assert {p.segment_id for p in probes} <= {p.segment_id for p in corpus}
    assert sample_probes(passages, queries=7, size=30) == (probes, corpus)
