"""Contract of an extractor: every extractor's test class inherits these tests.

A subclass names its ``extractor`` and ``media_type`` and builds two real files in the test:
``sample`` (valid, holding ``expected_text``) and ``damaged`` (the same kind, broken). The
suite checks that the extraction reports the media type, yields segments whose locators
serialise to JSON and whose derived media carry a type, finds the expected words, is
deterministic, and that damaged input is refused with BadInput (never another error).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.base import Extraction, ExtractOptions, Extractor
from mmrag.domain import ExtractedSegment, Modality
from mmrag.errors import BadInput

OPTIONS = ExtractOptions(ocr=False, speech=False, chunk_chars=300, chunk_overlap_chars=40)


def pulled(extraction: Extraction) -> list[ExtractedSegment]:
    return list(extraction.segments)


class ExtractorContract:
    extractor: Extractor
    media_type: str
    expected_text: str

    def sample(self, tmp_path: Path) -> Path:
        raise NotImplementedError

    def damaged(self, tmp_path: Path) -> Path:
        raise NotImplementedError

    def extract(self, path: Path) -> tuple[Extraction, list[ExtractedSegment]]:
        extraction = type(self).extractor(path, self.media_type, OPTIONS)
        return extraction, pulled(extraction)

    def test_reports_the_media_type_and_well_formed_segments(self, tmp_path: Path) -> None:
        extraction, segments = self.extract(self.sample(tmp_path))
        assert extraction.media_type == self.media_type
        assert segments, "a valid file yields at least one segment"
        for segment in segments:
            assert isinstance(segment.modality, Modality)
            json.dumps(segment.locator.to_json())  # locators are stored as JSON
            assert (segment.media is None) == (segment.media_type is None)
        json.dumps(extraction.metadata)

    def test_finds_the_words_the_file_holds(self, tmp_path: Path) -> None:
        _, segments = self.extract(self.sample(tmp_path))
        text = " ".join(" ".join(s.text.split()) for s in segments)
        assert self.expected_text in text

    def test_the_same_file_gives_the_same_segments(self, tmp_path: Path) -> None:
        path = self.sample(tmp_path)
        first, again = self.extract(path)[1], self.extract(path)[1]
        assert [(s.modality, s.text, s.locator) for s in first] == [
            (s.modality, s.text, s.locator) for s in again
        ]

    def test_damaged_input_is_refused_as_bad_input(self, tmp_path: Path) -> None:
        with pytest.raises(BadInput):
            self.extract(self.damaged(tmp_path))
