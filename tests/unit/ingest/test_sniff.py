"""Media types come from content: extensions are ignored, junk and programs are named."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.base import ExtractOptions
from ingest.extract import extract_file
from ingest.sniff import OCTET_STREAM, SHELL_SCRIPT, sniff_media_type
from mmrag.errors import BadInput, UnsupportedMediaType

MARKDOWN = "# Title\n\nSome text with a [link](http://x.org).\n\n- one\n- two\n"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_pdf_named_txt_is_pdf(make_pdf: Callable[..., Path], tmp_path: Path) -> None:
    pdf = make_pdf(["hello"], name="report.txt")
    assert sniff_media_type(pdf) == "application/pdf"


def test_text_named_pdf_is_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "fake.pdf", b"Just a plain note about nothing in particular.\n")
    assert sniff_media_type(path) == "text/plain"


def test_png_named_html(tmp_path: Path, png_factory: Callable[..., bytes]) -> None:
    assert sniff_media_type(_write(tmp_path, "x.html", png_factory())) == "image/png"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<!DOCTYPE html><html><body><p>Hi</p></body></html>", "text/html"),
        ("\n  <html lang='en'><head><title>T</title></head></html>", "text/html"),
        ("<p>A fragment of markup</p>", "text/html"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x.dtd">'
            '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Hi</p></body></html>',
            "text/html",
        ),
        (
            '<!--?xml version="1.0"?--><!DOCTYPE html><html><body><p>Hi</p></body></html>',
            "text/html",
        ),
        ('<?xml version="1.0"?>\n<note><to>Tove</to></note>', "text/plain"),
        (MARKDOWN, "text/markdown"),
        ("```python\nprint(1)\n```\n\n## Usage\n\nRun it.\n", "text/markdown"),
        ("Dear team,\n\nthe meeting moved to 3 pm. Costs are < 5%.\n", "text/plain"),
        ("import os\n\n# comment\ndef f():\n    return 1\n", "text/plain"),
        ("Grüße aus Köln, café crème.\n", "text/plain"),
    ],
)
def test_text_kinds(tmp_path: Path, content: str, expected: str) -> None:
    assert sniff_media_type(_write(tmp_path, "file.bin", content.encode())) == expected


def test_latin1_text_is_text(tmp_path: Path) -> None:
    data = "Les élèves étudient la théorie des ensembles à l'école.\n".encode("latin-1") * 5
    assert sniff_media_type(_write(tmp_path, "a.dat", data)) == "text/plain"


def test_random_bytes_are_octet_stream(tmp_path: Path) -> None:
    path = _write(tmp_path, "notes.txt", os.urandom(4096))
    assert sniff_media_type(path) == OCTET_STREAM
    with pytest.raises(UnsupportedMediaType, match="octet-stream"):
        extract_file(path, ExtractOptions())


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as info:
        extract_file(_write(tmp_path, "empty.txt", b""), ExtractOptions())
    assert info.value.code == "empty_file"


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120, "application/x-executable"),
        (b"#!/bin/sh\necho hello\nrm -rf ./build\n", SHELL_SCRIPT),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 60, "application/zip"),
    ],
)
def test_unsupported_types_rejected_by_name(tmp_path: Path, data: bytes, detected: str) -> None:
    path = _write(tmp_path, "innocent.txt", data)
    assert sniff_media_type(path) == detected
    with pytest.raises(UnsupportedMediaType) as info:
        extract_file(path, ExtractOptions())
    assert info.value.code == "unsupported_media_type"
    assert detected in info.value.message


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 60, "audio/mpeg"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 40, "video/mp4"),
    ],
)
def test_media_magic_with_nothing_behind_it_is_bad_input(
    tmp_path: Path, data: bytes, detected: str
) -> None:
    path = _write(tmp_path, "innocent.txt", data)
    assert sniff_media_type(path) == detected
    with pytest.raises(BadInput) as info:
        extract_file(path, ExtractOptions())
    assert info.value.code in {"media_invalid", "audio_invalid"}
