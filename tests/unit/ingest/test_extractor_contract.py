"""Each text, HTML, image and PDF extractor against the Extractor contract suite."""

from __future__ import annotations

from pathlib import Path

from ingest.html import extract_html
from ingest.image import extract_image
from ingest.pdf import extract_pdf
from ingest.text import extract_text
from tests.contract.extractor_suite import ExtractorContract
from tests.media import png_bytes, write_pdf

WORDS = "the heron stands in the reeds"


class TestTextExtractor(ExtractorContract):
    extractor = extract_text
    media_type = "text/plain"
    expected_text = WORDS

    def sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "a.txt"
        path.write_text(f"{WORDS}\n\nA second paragraph about egrets.")
        return path

    def damaged(self, tmp_path: Path) -> Path:
        path = tmp_path / "empty.txt"
        path.write_bytes(b"")
        return path


class TestHtmlExtractor(ExtractorContract):
    extractor = extract_html
    media_type = "text/html"
    expected_text = WORDS

    def sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "a.html"
        path.write_text(f"<html><head><title>Birds</title></head><body><p>{WORDS}</p></body></html>")
        return path

    def damaged(self, tmp_path: Path) -> Path:
        path = tmp_path / "empty.html"
        path.write_bytes(b"")
        return path


class TestImageExtractor(ExtractorContract):
    extractor = extract_image
    media_type = "image/png"
    expected_text = ""  # OCR is off: a picture holds no words here

    def sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "a.png"
        path.write_bytes(png_bytes(200, 120))
        return path

    def damaged(self, tmp_path: Path) -> Path:
        path = tmp_path / "cut.png"
        path.write_bytes(png_bytes(200, 120)[:60])  # the header survives, the pixels do not
        return path


class TestPdfExtractor(ExtractorContract):
    extractor = extract_pdf
    media_type = "application/pdf"
    expected_text = WORDS

    def sample(self, tmp_path: Path) -> Path:
        return write_pdf(tmp_path / "a.pdf", [WORDS, "page two mentions a kingfisher"])

    def damaged(self, tmp_path: Path) -> Path:
        whole = write_pdf(tmp_path / "whole.pdf", [WORDS]).read_bytes()
        path = tmp_path / "cut.pdf"
        path.write_bytes(whole[: len(whole) // 3])
        return path
