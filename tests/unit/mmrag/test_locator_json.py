"""Locator JSON: rows written before ``boxes`` existed still load; boxes round-trip."""

from __future__ import annotations

import json

from mmrag.domain import Locator, Modality, PageBox, Segment


def test_old_rows_load_unchanged() -> None:
    row = {"page": 3, "bbox": [72.0, 90.5, 540.0, 700.0], "char_start": 0, "char_end": 120}
    locator = Locator.from_json(row)
    assert locator == Locator(page=3, bbox=(72.0, 90.5, 540.0, 700.0), char_start=0, char_end=120)
    assert locator.boxes is None
    assert locator.to_json() == {**row, "bbox": (72.0, 90.5, 540.0, 700.0)}


def test_boxes_round_trip_through_json() -> None:
    locator = Locator(
        page=2,
        bbox=(72.0, 600.0, 540.0, 700.0),
        section="Cooling > Pumps",
        boxes=(PageBox(2, (72.0, 600.0, 540.0, 700.0)), PageBox(3, (72.0, 90.0, 540.0, 200.0))),
    )
    stored = json.loads(json.dumps(locator.to_json()))  # what the catalog's JSON column keeps
    assert stored["boxes"] == [
        {"page": 2, "bbox": [72.0, 600.0, 540.0, 700.0]},
        {"page": 3, "bbox": [72.0, 90.0, 540.0, 200.0]},
    ]
    assert Locator.from_json(stored) == locator


def test_index_text_puts_context_before_the_passage() -> None:
    segment = Segment(
        id="d-000001", document_id="d", collection="c", ordinal=1, modality=Modality.TEXT,
        text="Run apt update first.", locator=Locator(), media_key=None, media_type=None,
    )  # fmt: skip
    assert segment.index_text == "Run apt update first."
    with_context = Segment(**{**segment.__dict__, "context": "Debian FAQ > 8.1 APT"})
    assert with_context.index_text == "Debian FAQ > 8.1 APT\nRun apt update first."
    assert with_context.text == "Run apt update first."
