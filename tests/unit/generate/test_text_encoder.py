"""The answer stage's encoder comes from the text space, or says why there is none."""

from __future__ import annotations

from pathlib import Path

from generate.answer import answer
from generate.backends.extractive import ExtractiveBackend
from generate.semantic import TextEncoder
from index.spaces.registry import SpaceRegistry
from tests.conftest import make_settings
from tests.unit.generate.answer_support import hits


def test_a_disabled_text_space_gives_lexical_evidence_and_says_why(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, spaces=["image"])
    encoder = TextEncoder.from_spaces(SpaceRegistry(settings))
    assert encoder.encode is None and "MMRAG_SPACES" in (encoder.missing or "")
    result = answer(
        "How does the cooling loop move water?",
        hits("The cooling loop pumps water through the radiator."),
        ExtractiveBackend.from_settings(settings),
        settings,
        encoder=encoder,
    )
    assert not result.abstained and result.citations[0].n == 1
    assert result.degraded == [
        "answer evidence is lexical only (no semantic similarity): space 'text' is not "
        "enabled: add it to MMRAG_SPACES"
    ]
