"""PDF passages follow sections (outline, else heading fonts); running lines and contents
pages stay out of passages; broken outlines fall back and say so."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from ingest.base import ExtractOptions
from ingest.extract import extract_file
from mmrag.domain import ExtractedSegment, Modality

BODY = "The pump moves coolant through the loop and the radiator sheds the heat into the air. "
# (level, heading, body lines, tag that starts each body line)
SECTIONS = [
    (1, "1 Cooling", 0, "cool"),
    (2, "1.1 Pumps", 6, "pump"),
    (2, "1.2 Radiators", 60, "radi"),
    (1, "2 Wiring", 4, "wire"),
]


def _manual(path: Path, *, outline: bool, header: bool = False, contents: bool = False) -> Path:
    """Write a 3-page manual: headings in 18/14 pt bold, body in 10 pt, section 1.2
    running from page 2 onto page 3; optionally a running header/footer and a contents
    page in front."""
    doc = pymupdf.open()
    if contents:
        page = doc.new_page(width=612, height=792)
        page.insert_text((72, 80), "Contents", fontsize=18, fontname="hebo")
        for row, (_, title, _, _) in enumerate(SECTIONS * 2):
            y = 120 + row * 20
            page.insert_text((72, y), f"{title} " + ". " * 30, fontsize=10)
            page.insert_text((520, y), str(row + 2), fontsize=10)
    page, y = _new_page(doc, header), 100.0
    for level, title, lines, tag in SECTIONS:
        if title == "1.2 Radiators":  # starts a page and runs onto the next
            page, y = _new_page(doc, header), 100.0
        page.insert_text((72, y), title, fontsize=18 if level == 1 else 14, fontname="hebo")
        y += 30
        for n in range(lines):
            if y > 690:
                page, y = _new_page(doc, header), 100.0
            page.insert_text((72, y), f"{tag} line {n}: {BODY[:80]}", fontsize=10)
            y += 14
        y += 10
    if outline:
        doc.set_toc([[lvl, t.split(" ", 1)[1], _page_of(doc, t)] for lvl, t, _, _ in SECTIONS])
    doc.save(path)
    doc.close()
    return path


def _new_page(doc: pymupdf.Document, header: bool) -> pymupdf.Page:
    page = doc.new_page(width=612, height=792)
    if header:
        page.insert_text((72, 40), f"Cooling manual, chapter {page.number}", fontsize=9)
        page.insert_text((300, 770), str(page.number + 1), fontsize=9)
    return page


def _page_of(doc: pymupdf.Document, title: str) -> int:
    return next(
        page.number + 1
        for page in doc
        if any(line.strip() == title for line in page.get_text().splitlines())
    )


def _passages(path: Path, options: ExtractOptions) -> list[ExtractedSegment]:
    return [s for s in extract_file(path, options).segments if s.modality == Modality.TEXT]


@pytest.mark.parametrize("outline", [True, False], ids=["outline", "fonts"])
def test_passages_follow_sections(tmp_path: Path, options: ExtractOptions, outline: bool) -> None:
    path = _manual(tmp_path / "manual.pdf", outline=outline)
    extraction = extract_file(path, options)
    passages = [s for s in extraction.segments if s.modality == Modality.TEXT]
    assert extraction.metadata["structure"] == ("outline" if outline else "fonts")
    names = {tag: title.split(" ", 1)[1] for _, title, _, tag in SECTIONS}
    for passage in passages:
        tags = {line[:4] for line in passage.text.splitlines() if " line " in line}
        assert len(tags) == 1, passage.text  # never two sections' lines in one passage
        assert (passage.locator.section or "").endswith(names[tags.pop()])
    sections = {p.locator.section for p in passages}
    assert "1 Cooling > 1.1 Pumps" in sections  # headings as the page prints them
    radiators = [p for p in passages if "Radiators" in (p.locator.section or "")]
    crossing = [p for p in radiators if p.locator.boxes]
    assert crossing, "section 1.2 runs over a page break: one passage covers both pages"
    boxes = crossing[0].locator.boxes or ()
    assert [b.page for b in boxes] == [2, 3]
    assert crossing[0].locator.page == 2 and crossing[0].locator.bbox == boxes[0].bbox


def test_heading_only_section_joins_the_next(tmp_path: Path, options: ExtractOptions) -> None:
    path = _manual(tmp_path / "manual.pdf", outline=True)
    passages = _passages(path, options)
    first = passages[0]
    assert first.text.startswith("1 Cooling\n\n1.1 Pumps\n\npump line 0")
    assert first.locator.section == "1 Cooling > 1.1 Pumps"


def test_running_lines_and_contents_pages_stay_out(tmp_path: Path, options: ExtractOptions) -> None:
    path = _manual(tmp_path / "manual.pdf", outline=True, header=True, contents=True)
    extraction = extract_file(path, options)
    segments = list(extraction.segments)
    passages = [s for s in segments if s.modality == Modality.TEXT]
    assert extraction.metadata["listing_pages"] == [1]
    assert not any("Cooling manual, chapter" in p.text for p in passages)
    assert not any(". . . ." in p.text for p in passages)
    assert all(p.locator.page != 1 for p in passages)
    renders = [s.locator.page for s in segments if s.modality == Modality.PAGE_IMAGE]
    assert renders == [1, 2, 3, 4]  # the contents page is still rendered
    assert any("radi line 0" in p.text for p in passages)


def test_structure_off_gives_page_passages(tmp_path: Path) -> None:
    path = _manual(tmp_path / "manual.pdf", outline=True, header=True, contents=True)
    extraction = extract_file(path, ExtractOptions(ocr=False, pdf_structure=False))
    passages = [s for s in extraction.segments if s.modality == Modality.TEXT]
    assert extraction.metadata["structure"] == "off"
    assert all(p.locator.section is None and p.locator.boxes is None for p in passages)
    assert {p.locator.page for p in passages} == {1, 2, 3, 4}  # contents page included
    assert any("Cooling manual, chapter" in p.text for p in passages)


def test_outline_pointing_at_missing_pages(tmp_path: Path, options: ExtractOptions) -> None:
    doc = pymupdf.open()
    for n in range(3):
        doc.new_page().insert_text((72, 100), f"Page {n} text about pumps.", fontsize=10)
    doc.set_toc([[1, "One", 1], [1, "Two", 2], [1, "Three", 3]])
    doc.delete_page(2)  # the third entry now points nowhere (page -1)
    doc.save(tmp_path / "dangling.pdf")
    extraction = extract_file(tmp_path / "dangling.pdf", options)
    passages = [s for s in extraction.segments if s.modality == Modality.TEXT]
    assert extraction.metadata["structure"] == "outline"
    assert extraction.metadata["structure_notes"] == [
        "1 outline entries point at no page of the document"
    ]
    assert [p.locator.section for p in passages] == ["One", "Two"]


def test_outline_with_thousands_of_entries_is_ignored(
    tmp_path: Path, options: ExtractOptions
) -> None:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 100), "Only body text here, all in one size.", fontsize=10)
    doc.set_toc([[1, f"Entry {n}", 1] for n in range(3000)])
    doc.save(tmp_path / "noisy.pdf")
    extraction = extract_file(tmp_path / "noisy.pdf", options)
    passages = [s for s in extraction.segments if s.modality == Modality.TEXT]
    assert extraction.metadata["structure"] == "pages"
    notes = extraction.metadata["structure_notes"]
    assert notes[0] == "outline ignored: 3000 entries, more than 58"
    assert "passages follow pages" in notes[1]
    assert [p.text for p in passages] == ["Only body text here, all in one size."]


def test_page_without_text_layer(tmp_path: Path, options: ExtractOptions) -> None:
    doc = pymupdf.open()
    doc.new_page().draw_rect(pymupdf.Rect(100, 100, 300, 300), color=(0, 0, 1), fill=(0, 0, 1))
    doc.save(tmp_path / "drawing.pdf")
    extraction = extract_file(tmp_path / "drawing.pdf", options)
    segments = list(extraction.segments)
    assert extraction.metadata["structure"] == "pages"
    assert [s.modality for s in segments] == [Modality.PAGE_IMAGE]


def test_pages_past_the_kept_lines_read_the_same(
    tmp_path: Path, options: ExtractOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _manual(tmp_path / "manual.pdf", outline=True, header=True, contents=True)
    kept = _passages(path, options)
    monkeypatch.setattr("ingest.pdf_structure.KEPT_LINE_CHARS", 0)  # every page read again
    assert _passages(path, options) == kept


def test_cyclic_outline_falls_back_and_says_so(tmp_path: Path, options: ExtractOptions) -> None:
    doc = pymupdf.open()
    for n in range(2):
        doc.new_page().insert_text((72, 100), f"Page {n} text about pumps.", fontsize=10)
    doc.set_toc([[1, "A", 1], [1, "B", 2]])
    first, second = (entry[3]["xref"] for entry in doc.get_toc(simple=False))
    doc.xref_set_key(second, "Next", f"{first} 0 R")  # B -> A -> B ...
    doc.xref_set_key(first, "First", f"{second} 0 R")
    doc.save(tmp_path / "cyclic.pdf")
    extraction = extract_file(tmp_path / "cyclic.pdf", options)
    passages = [s for s in extraction.segments if s.modality == Modality.TEXT]
    assert extraction.metadata["structure"] == "pages"
    assert "outline unreadable" in extraction.metadata["structure_notes"][0]
    assert [p.text for p in passages] == ["Page 0 text about pumps.", "Page 1 text about pumps."]


def test_bookmark_at_a_page_foot_starts_the_next_page(
    tmp_path: Path, options: ExtractOptions
) -> None:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 100), "Intro text about pumps and valves.", fontsize=10)
    doc.new_page().insert_text((72, 100), "Pump service steps, one by one.", fontsize=10)
    foot = {"kind": pymupdf.LINK_GOTO, "page": 0, "to": pymupdf.Point(72, 780)}
    # "Intro" begins a body line but is no heading there; "Service" is printed overleaf.
    doc.set_toc([[1, "Intro", 1], [1, "Service", 1, foot]])
    doc.save(tmp_path / "foot.pdf")
    passages = _passages(tmp_path / "foot.pdf", options)
    assert [(p.locator.section, p.locator.page) for p in passages] == [
        ("Intro", 1),
        ("Service", 2),
    ]


def test_long_section_is_flushed_in_parts_and_loses_nothing(tmp_path: Path) -> None:
    path = _manual(tmp_path / "manual.pdf", outline=True)
    small = ExtractOptions(ocr=False, chunk_chars=60, chunk_overlap_chars=0)
    passages = _passages(path, small)  # twice 40 chunks of 60 chars < the 60-line block
    radiators = [p for p in passages if "radi line" in p.text]
    assert {p.locator.section for p in radiators} == {"1 Cooling > 1.2 Radiators"}
    text = "\n".join(p.text for p in radiators)
    assert all(f"radi line {n}:" in text for n in range(60))
