"""Citations: markers parsed, unknown numbers dropped and reported, support checked."""

from __future__ import annotations

from generate.citations import check_citations
from generate.context import build_context
from tests.unit.generate.answer_support import hits

SOURCES = build_context(
    "q",
    hits(
        "Debian installs packages with dpkg. APT downloads them from mirrors.",
        "Python lists are mutable sequences. Tuples cannot be changed.",
    ),
    budget_tokens=1000,
).sources


def test_unknown_numbers_are_removed_from_the_text_and_reported() -> None:
    raw = "Debian installs packages with dpkg [1][7]. Lists are mutable [2, 9]. Odd [12]."
    checked = check_citations(raw, SOURCES, 0.5)
    assert checked.dropped == [7, 9, 12]
    assert checked.text == "Debian installs packages with dpkg [1]. Lists are mutable [2]. Odd."
    assert [c.n for c in checked.citations] == [1, 2]
    assert checked.citations[0].quote == "Debian installs packages with dpkg."
    assert checked.citations[1].quote == "Python lists are mutable sequences."


def test_sentences_their_sources_do_not_support_are_flagged() -> None:
    raw = (
        "APT downloads packages from mirrors. [1] The moon is made of green cheese [1]. "
        "Tuples cannot be changed [1][2]. Bananas grow quickly in tropical valleys."
    )
    checked = check_citations(raw, SOURCES, 0.5)
    flagged = {u.sentence: u for u in checked.unsupported}
    assert set(flagged) == {
        "The moon is made of green cheese.",
        "Bananas grow quickly in tropical valleys.",
    }
    assert flagged["The moon is made of green cheese."].cited == [1]
    assert flagged["The moon is made of green cheese."].support == 0.0
    assert flagged["Bananas grow quickly in tropical valleys."].reason == "no citation"
    # A marker after the full stop belongs to the sentence before it; the best of several
    # cited sources is what counts.
    assert [c.n for c in checked.citations] == [1, 2] and checked.dropped == []


def test_the_support_threshold_is_a_setting() -> None:
    raw = "Debian installs packages with dpkg and signs them with gpg [1]."
    assert check_citations(raw, SOURCES, 0.5).unsupported == []
    strict = check_citations(raw, SOURCES, 0.95).unsupported
    assert len(strict) == 1 and 0.5 <= strict[0].support < 0.95


def test_a_marker_set_apart_by_dots_still_cites_its_sentence() -> None:
    raw = "Debian installs packages with dpkg . . . [1]. APT downloads them from mirrors. [1]"
    checked = check_citations(raw, SOURCES, 0.5)
    assert checked.unsupported == [] and [c.n for c in checked.citations] == [1]
