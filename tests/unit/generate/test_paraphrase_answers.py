"""Paraphrased questions with the real all-MiniLM-L6-v2: the gate lets through a question
whose answering source retrieval ranked first, and an extractive answer takes sentences from
two sources when each answers part of the question, each cited to its own source."""

from __future__ import annotations

from pathlib import Path

import pytest

from generate.answer import answer
from generate.backends.extractive import ExtractiveBackend
from generate.semantic import TextEncoder
from mmrag.domain import Locator
from tests.conftest import make_settings
from tests.unit.generate.answer_support import hit
from tests.unit.generate.test_semantic_answers import retrieved

MANUAL = {
    "offline": hit(
        "Without an internet connection, install from the full DVD image. Every package is "
        "on the disc, so nothing is downloaded during setup.",
        n=1,
        locator=Locator(page=4, section="Manual > Installing > Offline installation"),
    ),
    "hold": hit(
        "Mark the package with apt-mark hold and apt leaves it at its current version. "
        "Run apt-mark unhold to let upgrades reach it again.",
        n=2,
        locator=Locator(page=12, section="Manual > Packages > Holding a package"),
    ),
    "donate": hit(
        "Gifts of money go to the non-profit that holds the project's assets. They pay for "
        "servers, travel to conferences and hardware for developers.",
        n=3,
        locator=Locator(page=30, section="Manual > Contributing > Financial help"),
    ),
    "disk": hit(
        "The base system takes 2 GB on disk. A desktop install needs at least 10 GB of "
        "free disk space.",
        n=4,
        locator=Locator(page=5, section="Manual > Installing > Disk space"),
    ),
    "memory": hit(
        "The installer runs with 512 MB of RAM. A desktop needs at least 2 GB of memory "
        "to run smoothly.",
        n=5,
        locator=Locator(page=6, section="Manual > Installing > Memory"),
    ),
}
PARAPHRASES = {
    "Can I set it up on a computer that has no network access?": "offline",
    "How do I stop apt from upgrading one particular package?": "hold",
    "How can I give money to support the project?": "donate",
}


@pytest.mark.parametrize("question", sorted(PARAPHRASES))
def test_a_paraphrase_whose_source_was_ranked_first_is_answered_from_it(
    question: str, tmp_path: Path, encoder: TextEncoder
) -> None:
    settings = make_settings(tmp_path)
    right = MANUAL[PARAPHRASES[question]]
    others = [h for h in MANUAL.values() if h is not right]
    found = retrieved(question, [right, *others], encoder)
    result = answer(
        question, found, ExtractiveBackend.from_settings(settings), settings, encoder=encoder
    )
    assert not result.abstained, result.reason
    assert result.citations[0].n == 1, result.text
    assert result.evidence >= settings.answer_min_semantic_evidence


def test_an_answer_takes_each_part_from_the_source_that_answers_it(
    tmp_path: Path, encoder: TextEncoder
) -> None:
    settings = make_settings(tmp_path)
    question = "How much disk space and how much memory does a desktop install need?"
    found = retrieved(question, [MANUAL["disk"], MANUAL["memory"], MANUAL["hold"]], encoder)
    result = answer(
        question, found, ExtractiveBackend.from_settings(settings), settings, encoder=encoder
    )
    assert not result.abstained, result.reason
    cited = {c.n: c.quote for c in result.citations}
    assert set(cited) == {1, 2}, result.text
    assert "10 GB of free disk space" in cited[1] and "2 GB of memory" in cited[2]
    assert result.text.index("[1]") < result.text.index("[2]")  # best source first
    assert result.unsupported == []
