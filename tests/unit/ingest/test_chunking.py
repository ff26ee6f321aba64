"""Passages: bounded size, overlap, natural cuts, offsets that map back to the source."""

from __future__ import annotations

import itertools

import pytest

from ingest.base import ExtractOptions
from ingest.chunking import Section, chunk_spans, section_segments

SENTENCE = "The cooling loop moves heat from the core to the radiator panels. "
TEXT = "\n\n".join(SENTENCE * 4 for _ in range(12))


def test_spans_are_bounded_and_trimmed() -> None:
    spans = list(chunk_spans(TEXT, 300, 40))
    assert len(spans) > 5
    for start, end in spans:
        piece = TEXT[start:end]
        assert 0 < len(piece) <= 300
        assert piece == piece.strip()


def test_spans_cover_the_text_with_overlap() -> None:
    spans = list(chunk_spans(TEXT, 300, 40))
    assert spans[0][0] == 0
    assert spans[-1][1] == len(TEXT.rstrip())
    for (_, prev_end), (start, _) in itertools.pairwise(spans):
        assert start <= prev_end  # no gap
        assert prev_end - start <= 40


def test_cuts_at_sentence_or_paragraph_ends() -> None:
    for start, end in list(chunk_spans(TEXT, 300, 0))[:-1]:
        assert TEXT[start:end].endswith(".")


def test_overlap_starts_at_word() -> None:
    for start, _ in list(chunk_spans(TEXT, 300, 40))[1:]:
        assert TEXT[start - 1].isspace()


def test_unbroken_run_is_cut_hard() -> None:
    text = "x" * 1000
    spans = list(chunk_spans(text, 300, 0))
    assert spans == [(0, 300), (300, 600), (600, 900), (900, 1000)]


@pytest.mark.parametrize("text", ["", "   \n\n  ", "short"])
def test_small_inputs(text: str) -> None:
    spans = list(chunk_spans(text, 300, 40))
    assert [text[s:e] for s, e in spans] == ([text] if text.strip() else [])


def test_section_segments_keep_document_offsets() -> None:
    doc = "intro text\n\n" + TEXT
    section = Section("Intro > Setup", doc[12:], 12)
    options = ExtractOptions(chunk_chars=300, chunk_overlap_chars=40)
    segments = list(section_segments([section], options, page=3))
    assert segments
    for segment in segments:
        loc = segment.locator
        assert loc.section == "Intro > Setup" and loc.page == 3
        assert loc.char_start is not None and loc.char_end is not None
        assert doc[loc.char_start : loc.char_end] == segment.text
