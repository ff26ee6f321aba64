"""OCR with the packaged RapidOCR models: text images and scanned PDF pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pymupdf
import pytest

from ingest.base import ExtractOptions
from ingest.extract import extract_file
from ingest.ocr import ocr_available, ocr_unavailable_reason
from mmrag.domain import Modality

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ocr_available(), reason=f"OCR unavailable: {ocr_unavailable_reason()}"),
]
OPTIONS = ExtractOptions(ocr=True, chunk_chars=300, chunk_overlap_chars=0)


def test_ocr_of_text_image(tmp_path: Path, text_png_factory: Callable[..., bytes]) -> None:
    path = tmp_path / "sign.png"
    path.write_bytes(text_png_factory(["Quarterly cooling target", "Pump seventeen"]))
    extraction = extract_file(path, OPTIONS)
    assert "ocr_unavailable" not in extraction.metadata
    texts = [s for s in extraction.segments if s.modality == Modality.TEXT]
    assert texts
    words = " ".join(s.text for s in texts).lower()
    assert "quarterly" in words and "cooling" in words and "seventeen" in words
    width, height = extraction.metadata["width"], extraction.metadata["height"]
    for segment in texts:
        assert segment.locator.bbox is not None
        x0, y0, x1, y1 = segment.locator.bbox
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height


def test_ocr_of_a_huge_image_reads_its_shrunk_copy_with_full_size_boxes(
    tmp_path: Path, text_png_factory: Callable[..., bytes]
) -> None:
    path = tmp_path / "poster.png"
    path.write_bytes(text_png_factory(["Quarterly cooling target", "Pump seventeen"], dpi=800))
    extraction = extract_file(path, OPTIONS)
    assert extraction.metadata["width"] == 7778  # shrunk 3x to read, boxes scaled back
    texts = [s for s in extraction.segments if s.modality == Modality.TEXT]
    words = " ".join(s.text for s in texts).lower()
    assert "quarterly" in words and "seventeen" in words
    boxes = [s.locator.bbox for s in texts if s.locator.bbox is not None]
    left = min(box[0] for box in boxes)
    assert 400 <= left <= 480  # the text starts 40 pt in: 444 px at 800 dpi
    assert max(box[2] for box in boxes) <= 7778


def test_ocr_of_scanned_pdf_page(tmp_path: Path, text_png_factory: Callable[..., bytes]) -> None:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "This page has a real text layer for sure.")
    scanned = doc.new_page(width=612, height=792)
    scanned.insert_image(
        pymupdf.Rect(50, 300, 550, 450), stream=text_png_factory(["Radiator bleed valve"])
    )
    path = tmp_path / "scan.pdf"
    doc.save(path)
    segments = list(extract_file(path, OPTIONS).segments)
    page_two = [s for s in segments if s.modality == Modality.TEXT and s.locator.page == 2]
    assert page_two
    assert "radiator" in " ".join(s.text for s in page_two).lower()
    for segment in page_two:
        assert segment.locator.bbox is not None
        x0, y0, x1, y1 = segment.locator.bbox
        assert 45 <= x0 < x1 <= 555 and 295 <= y0 < y1 <= 455  # PDF points, inside the scan
    page_one = [s for s in segments if s.modality == Modality.TEXT and s.locator.page == 1]
    assert [s.text for s in page_one] == ["This page has a real text layer for sure."]
