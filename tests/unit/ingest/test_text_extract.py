"""Plain text, Markdown and HTML: sections, titles, offsets and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.base import ExtractOptions
from ingest.extract import extract_file
from ingest.text import extract_text, read_document_text
from mmrag.domain import Modality
from mmrag.errors import BadInput

PARAGRAPH = "Coolant flows through the plate and carries heat to the radiator. " * 6
MARKDOWN = f"""Preface line before any heading.

# Cooling Guide

{PARAGRAPH}

## Setup

Fill the loop with [coolant](http://example.org).

- check the pump
- check the fans

### Bleeding *air*

{PARAGRAPH}

## Maintenance

Replace the fluid yearly.
"""

HTML = f"""<!DOCTYPE html><html lang="en"><head><title>Pump manual</title>
<style>p {{ color: red }}</style><script>var secret = "do-not-index";</script></head>
<body><nav>Home | About | Contact</nav>
<h1>Pump</h1><p>{PARAGRAPH}</p>
<h2>Install</h2><p>Mount the pump <b>below</b> the reservoir.</p>
<ul><li>Tighten fittings</li><li>Prime it</li></ul>
<h2>Noise</h2><div>Rattling means air in the loop.<p>Tilt the case.</p></div>
<footer>Copyright 2024 NotIndexed Corp</footer></body></html>"""


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_plain_text_offsets_map_back(tmp_path: Path, options: ExtractOptions) -> None:
    text = "\r\n\r\n".join([PARAGRAPH] * 5)
    path = _write(tmp_path, "notes.md", text)
    extraction = extract_file(path, options)
    assert extraction.media_type == "text/plain"
    source, encoding = read_document_text(path, options)
    assert encoding == "utf-8" and "\r" not in source
    segments = list(extraction.segments)
    assert len(segments) > 3
    for segment in segments:
        loc = segment.locator
        assert segment.modality == Modality.TEXT and loc.section is None
        assert loc.char_start is not None and loc.char_end is not None
        assert source[loc.char_start : loc.char_end] == segment.text


def test_markdown_sections_and_title(tmp_path: Path, options: ExtractOptions) -> None:
    path = _write(tmp_path, "guide.txt", MARKDOWN)
    extraction = extract_file(path, options)
    assert extraction.media_type == "text/markdown"
    assert extraction.metadata["title"] == "Cooling Guide"
    segments = list(extraction.segments)
    source, _ = read_document_text(path, options)
    by_section: dict[str | None, str] = {}
    for segment in segments:  # whole text of each section, passages in order
        by_section[segment.locator.section] = (
            by_section.get(segment.locator.section, "") + segment.text
        )
    assert by_section[None].startswith("Preface")
    assert "Fill the loop" in by_section["Cooling Guide > Setup"]
    assert "Bleeding" in by_section["Cooling Guide > Setup > Bleeding air"]
    assert "yearly" in by_section["Cooling Guide > Maintenance"]
    for segment in segments:
        loc = segment.locator
        assert loc.char_start is not None and loc.char_end is not None
        assert source[loc.char_start : loc.char_end] == segment.text


def test_utf16_and_latin1_decoded(tmp_path: Path, options: ExtractOptions) -> None:
    text = "Die Kühlflüssigkeit muß jährlich gewechselt werden. Grüße!\n" * 3
    for encoding in ("utf-16", "latin-1"):
        extraction = extract_file(_write(tmp_path, f"{encoding}.txt", text, encoding), options)
        assert "Kühlflüssigkeit" in next(iter(extraction.segments)).text


def test_text_too_large(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.txt", "word " * 400)
    with pytest.raises(BadInput) as info:
        extract_file(path, ExtractOptions(max_text_bytes=1000))
    assert info.value.code == "text_too_large"


def test_html_main_text_sections_and_title(tmp_path: Path, options: ExtractOptions) -> None:
    extraction = extract_file(_write(tmp_path, "page.txt", HTML), options)
    assert extraction.media_type == "text/html"
    assert extraction.metadata["title"] == "Pump manual"
    assert extraction.metadata["language"] == "en"
    segments = list(extraction.segments)
    everything = " ".join(s.text for s in segments)
    for junk in ("do-not-index", "color: red", "About | Contact", "NotIndexed"):
        assert junk not in everything
    by_section = {s.locator.section: s.text for s in segments if s.locator.section}
    assert "Mount the pump below the reservoir." in by_section["Pump > Install"]
    assert "Tighten fittings\n\nPrime it" in by_section["Pump > Install"]
    noise = by_section["Pump > Noise"]
    assert "Rattling means air in the loop." in noise and "Tilt the case." in noise


def test_html_offsets_are_consistent(tmp_path: Path, options: ExtractOptions) -> None:
    segments = list(extract_file(_write(tmp_path, "p.html", HTML), options).segments)
    starts = [s.locator.char_start or 0 for s in segments]
    assert starts == sorted(starts)
    for segment in segments:
        loc = segment.locator
        assert loc.char_end is not None and loc.char_start is not None
        assert loc.char_end - loc.char_start == len(segment.text)


def test_binary_tail_is_not_decodable(tmp_path: Path, options: ExtractOptions) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes(PARAGRAPH.encode() * 200 + bytes(range(1, 32)) * 400)
    with pytest.raises(BadInput) as info:
        extract_text(path, "text/plain", options)
    assert info.value.code == "text_not_decodable"
