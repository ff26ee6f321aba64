"""Contract of an answer backend: every backend's test class inherits
:class:`AnswerBackendContract`.

A subclass provides the ``backend`` fixture. What any backend must do, whatever its model:
stream its answer as non-empty text pieces, give the same answer to the same context
(greedy / deterministic), and go through :func:`generate.answer.answer` to an
:class:`~generate.answer.Answer` whose citations name only sources it was given.
"""

from __future__ import annotations

from pathlib import Path

from generate.answer import Answer, answer
from generate.backends.base import AnswerBackend
from generate.context import build_context
from mmrag.domain import Hit, Locator, Modality, Segment
from tests.conftest import make_settings

QUESTION = "How does the cooling loop move water through the radiator?"
TEXTS = [
    "The cooling loop pumps water through the radiator. A thermostat opens at 80 degrees.",
    "Firmware updates are signed with the release key.",
]


def contract_hits() -> list[Hit]:
    return [
        Hit(
            Segment(f"s{n}", f"d{n}", "c", n, Modality.TEXT, text, Locator(page=n), None, None),
            1.0 / n,
        )
        for n, text in enumerate(TEXTS, start=1)
    ]


class AnswerBackendContract:
    def test_streams_text_pieces_and_repeats_itself(self, backend: AnswerBackend) -> None:
        context = build_context(QUESTION, contract_hits(), budget_tokens=1000)
        first = list(backend.stream(context))
        assert first and all(isinstance(p, str) and p for p in first)
        assert "".join(backend.stream(context)) == "".join(first)
        assert isinstance(backend.name, str) and isinstance(backend.accepts_images, bool)

    def test_answers_cite_only_given_sources(self, backend: AnswerBackend, tmp_path: Path) -> None:
        settings = make_settings(tmp_path, answer_min_evidence=0.0)
        result = answer(QUESTION, contract_hits(), backend, settings)
        assert isinstance(result, Answer) and result.backend == backend.name
        assert {c.n for c in result.citations} <= {1, 2}
        assert [s.n for s in result.sources] == [1, 2]
        assert result.abstained == (result.text == "")
