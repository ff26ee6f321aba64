"""Builders of real test media (PDFs with PyMuPDF, images with Pillow) in tmp_path."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageDraw

from ingest.base import ExtractOptions

PdfBuilder = Callable[..., Path]


@pytest.fixture
def options() -> ExtractOptions:
    """Options with OCR off, so tests that do not exercise OCR stay fast."""
    return ExtractOptions(ocr=False, chunk_chars=300, chunk_overlap_chars=40)


@pytest.fixture
def make_pdf(tmp_path: Path) -> PdfBuilder:
    """Return a builder: one page per text (inserted at y=100), saved as ``name``."""

    def build(texts: list[str], name: str = "doc.pdf", title: str | None = None) -> Path:
        doc = pymupdf.open()
        for text in texts:
            page = doc.new_page(width=612, height=792)
            page.insert_textbox(pymupdf.Rect(72, 100, 540, 700), text, fontsize=11)
        if title:
            doc.set_metadata({"title": title, "author": "Ada Tester"})
        path = tmp_path / name
        doc.save(path)
        doc.close()
        return path

    return build


def png_bytes(size: tuple[int, int] = (200, 120), color: str = "navy") -> bytes:
    """Return a PNG of a coloured rectangle with a white diagonal."""
    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).line((0, 0, *size), fill="white", width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def text_png(lines: list[str], fontsize: int = 36, dpi: int = 110) -> bytes:
    """Return a PNG (rendered by PyMuPDF at ``dpi``) of large black ``lines`` on white."""
    doc = pymupdf.open()
    page = doc.new_page(width=700, height=120 + 70 * len(lines))
    for index, line in enumerate(lines):
        page.insert_text((40, 80 + 70 * index), line, fontsize=fontsize)
    data: bytes = page.get_pixmap(dpi=dpi).tobytes("png")
    doc.close()
    return data


@pytest.fixture
def png_factory() -> Callable[..., bytes]:
    return png_bytes


@pytest.fixture
def text_png_factory() -> Callable[..., bytes]:
    return text_png
