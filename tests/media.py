"""Builders of real files for tests (PDFs with PyMuPDF, images with Pillow)."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw


def write_pdf(path: Path, pages: list[str], *, image: bool = False) -> Path:
    """Write a PDF with one page per text; optionally a 200x200 raster image on page 1."""
    doc = pymupdf.open()
    for number, text in enumerate(pages):
        page = doc.new_page(width=612, height=792)
        page.insert_textbox(pymupdf.Rect(72, 72, 540, 400), text, fontsize=11)
        if image and number == 0:
            page.insert_image(pymupdf.Rect(72, 450, 272, 650), stream=png_bytes(200, 200))
    doc.save(path)
    doc.close()
    return path


def png_bytes(width: int = 120, height: int = 80, colour: str = "teal") -> bytes:
    image = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(image).ellipse((10, 10, width - 10, height - 10), fill="orange")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def encrypted_pdf_bytes() -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret plans")
    data: bytes = doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="user"
    )
    return data


def bomb_png_bytes(side: int = 30_000) -> bytes:
    """A small PNG whose header claims side x side pixels (a decompression bomb)."""
    image = Image.new("1", (side, side), 0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
