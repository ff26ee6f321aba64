"""Semantic evidence with the real all-MiniLM-L6-v2: paraphrases pass the gate, off-topic and
near-topic questions do not, extractive answers cite the source that answers in reading
order, never a TOC line, and support checks use the same measure for every backend."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from generate.answer import answer
from generate.backends.extractive import ExtractiveBackend
from generate.citations import check_citations
from generate.context import build_context
from generate.evidence import weigh
from generate.semantic import LEXICAL_ONLY, TextEncoder
from mmrag.domain import Hit, Locator
from tests.conftest import make_settings
from tests.unit.generate.answer_support import hit, hits

OFFLINE = [
    hit("A laptop with a wired network port is listed in the hardware table. Laptops with "
        "Wi-Fi cards need firmware from the non-free section.", 1,
        locator=Locator(section="Manual > Supported hardware")),
    hit("Without an internet connection, install from the full DVD image. Every package is on "
        "the disc, so nothing is downloaded during setup.", 2,
        locator=Locator(section="Manual > Offline installation")),
    hit("The cafeteria serves lunch from noon. The menu changes every week.", 3),
]  # fmt: skip
DOCS = hits(
    "The cooling loop pumps water through the radiator. A thermostat opens the valve at 80 "
    "degrees. The fan runs when the loop is hot.",
    "Firmware updates are signed with the release key. The bootloader checks each signature "
    "before flashing.",
)


def retrieved(question: str, found: list[Hit], encoder: TextEncoder) -> list[Hit]:
    """Return ``found`` with the question-passage cosine the text channel would attach."""
    assert encoder.encode is not None
    rows = encoder.encode([question, *(h.segment.text for h in found)])
    cosines = rows[1:] @ rows[0]
    return [
        replace(h, channel_scores={"text": float(c)}) for h, c in zip(found, cosines, strict=True)
    ]


def test_a_paraphrase_is_answered_from_the_source_that_answers_it(
    tmp_path: Path, encoder: TextEncoder
) -> None:
    settings = make_settings(tmp_path)
    question = "Can I set it up on a computer that has no internet access?"
    backend = ExtractiveBackend.from_settings(settings)
    found = retrieved(question, OFFLINE, encoder)
    lexical = answer(question, found, backend, settings)
    assert lexical.abstained and "answer_min_evidence" in (lexical.reason or "")
    assert lexical.degraded and "lexical only" in lexical.degraded[0]
    semantic = answer(question, found, backend, settings, encoder=encoder)
    assert not semantic.abstained and semantic.degraded == []
    assert semantic.citations[0].n == 2
    assert semantic.text.startswith("Without an internet connection, install from the full DVD")
    assert semantic.unsupported == [] and semantic.evidence >= settings.answer_min_semantic_evidence


def test_off_topic_and_near_topic_questions_are_refused(
    tmp_path: Path, encoder: TextEncoder
) -> None:
    settings = make_settings(tmp_path)
    backend = ExtractiveBackend.from_settings(settings)
    for question in (
        "Who won the 1998 football world cup final?",
        "How do I deploy a container to a Kubernetes cluster with Helm charts?",
        "How do I enable dark mode in Microsoft Excel?",
    ):
        found = retrieved(question, DOCS, encoder)
        result = answer(question, found, backend, settings, encoder=encoder)
        assert result.abstained and result.citations == [], question
        assert "answer_min_semantic_evidence" in (result.reason or ""), question


def test_sentences_of_a_source_keep_their_reading_order(
    tmp_path: Path, encoder: TextEncoder
) -> None:
    settings = make_settings(tmp_path)
    question = "How does the cooling loop work and when does the thermostat open the valve?"
    result = answer(
        question, DOCS, ExtractiveBackend.from_settings(settings), settings, encoder=encoder
    )
    assert not result.abstained and {c.n for c in result.citations} == {1}
    loop = result.text.find("The cooling loop pumps water")
    valve = result.text.find("A thermostat opens the valve")
    assert 0 <= loop < valve  # reading order within the source


def test_toc_lines_dot_leaders_and_running_headers_are_never_quoted(
    tmp_path: Path, encoder: TextEncoder
) -> None:
    settings = make_settings(tmp_path)
    header = "ACME Cooling Manual, revision 2, chapter 3 of 9\n\n"
    toc = hits(
        header + "1.4 How does the cooling loop move water? . . . . . . . . . . 3\n\niii",
        header + "The cooling loop pumps water through the radiator with two pumps.",
    )
    context = build_context("How does the cooling loop move water?", toc, budget_tokens=1000)
    quoted = {s.text for s in weigh(context, encoder).sentences}
    assert quoted == {"The cooling loop pumps water through the radiator with two pumps."}
    result = answer(
        "How does the cooling loop move water?",
        toc,
        ExtractiveBackend.from_settings(settings),
        settings,
        encoder=encoder,
    )
    assert result.text == "The cooling loop pumps water through the radiator with two pumps [2]."


def test_support_is_semantic_and_lexical_for_any_backend(encoder: TextEncoder) -> None:
    question = "How does the cooling loop move water?"
    context = build_context(question, DOCS, budget_tokens=1000)
    evidence = weigh(context, encoder)
    raw = (
        "Water is pumped through the radiator by the cooling loop [1]. "
        "Bananas are a yellow fruit rich in potassium [1]. "
        "Each firmware signature is checked by the bootloader . . . [2]."
    )
    checked = check_citations(raw, context.sources, 0.5, evidence, encoder)
    assert [u.sentence for u in checked.unsupported] == [
        "Bananas are a yellow fruit rich in potassium."
    ]
    assert checked.unsupported[0].cited == [1] and checked.unsupported[0].support < 0.5
    assert [c.n for c in checked.citations] == [1, 2]
    assert checked.citations[1].quote == "The bootloader checks each signature before flashing."
    lexical = check_citations(raw, context.sources, 0.5, weigh(context, LEXICAL_ONLY))
    assert "Bananas are a yellow fruit rich in potassium." in {
        u.sentence for u in lexical.unsupported
    }
