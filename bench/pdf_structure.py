"""PDF passages against the document's sections: how often a passage crosses a heading.

Real manuals from packages: the Debian FAQ PDF (apt ``debian-faq``, gzipped under
/usr/share/doc/debian/FAQ/) and gnuplot.pdf (apt ``gnuplot-doc``). Each is extracted three
ways by ``ingest.pdf.extract_pdf`` (page renders included), in the same run:

- ``off (before)``: ``pdf_structure=False``, the extractor as it was before structure:
  each page's text blocks chunked as one run;
- ``outline``: the default, headings from the PDF outline;
- ``fonts``: the same PDF with its outline removed, headings from font statistics.

Truth is the outline (its titles, independent of where the extractor put boundaries): a
passage *crosses a heading* when whole lines of it spell an outline title of a page it
covers (numbering, case and punctuation aside), and some line before them is body text
(not part of a title, a bare number or "Chapter N"). Also printed: passages holding dot
leaders (contents pages), passages holding a running header/footer line, the seconds the
extraction took (with page renders for the extractor's modes, text only for ``before``),
and for ``fonts`` how many outline titles its headings found (recall) and how many of its
headings are outline titles (precision).

    .venv/bin/python bench/pdf_structure.py            # both PDFs, ~1 min on 2 cores
    .venv/bin/python bench/pdf_structure.py --pdf my.pdf --json out.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pymupdf

from ingest.base import ExtractOptions
from ingest.pdf import extract_pdf
from ingest.pdf_lines import page_lines
from ingest.pdf_structure import analyse, is_running
from mmrag.domain import ExtractedSegment, Modality

DEBIAN_FAQ = Path("/usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz")
GNUPLOT = Path("/usr/share/doc/gnuplot/gnuplot.pdf")
TITLE_LETTERS = 25  # letters compared when matching font headings with outline titles
MAX_TITLE_LINES = 4
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_LEADERS = re.compile(r"(?:\.\s*){5,}")
_CHAPTER = re.compile(r"^(chapter|part|appendix|section)?[0-9ivxlc]*$")


@dataclass(frozen=True)
class Figures:
    passages: int
    crossing: int
    crossing_share: float
    with_leaders: int
    with_running_line: int
    seconds: float


def letters(text: str) -> str:
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKD", text).lower())


def outline_titles(doc: pymupdf.Document) -> dict[int, list[str]]:
    """Return {page: letters of each outline title pointing there}."""
    titles: dict[int, list[str]] = {}
    for _level, title, page in doc.get_toc():
        if (key := letters(title).lstrip("0123456789")) and page >= 1:
            titles.setdefault(page, []).append(key)
    return titles


def crosses(segment: ExtractedSegment, titles: dict[int, list[str]]) -> bool:
    """Return whether some lines of the passage spell an outline title, after body text."""
    pages = {segment.locator.page or 0} | {b.page for b in segment.locator.boxes or ()}
    near = {t for p in pages for t in titles.get(p, []) + titles.get(p + 1, [])}
    lines = [letters(line) for line in segment.text.split("\n")]
    for index in range(1, len(lines)):
        if _title_at(lines, index, near) and any(_is_body(ln, near) for ln in lines[:index]):
            return True
    return False


def _title_at(lines: Sequence[str], index: int, titles: set[str]) -> bool:
    """Whether whole lines from ``index`` on spell a title (a mention inside a sentence
    runs on past the title's end and does not count)."""
    spelled = ""
    for line in lines[index : index + MAX_TITLE_LINES]:
        spelled = (spelled + line).lstrip("0123456789")
        if spelled and spelled in titles:
            return True
    return False


def _is_body(line: str, titles: Sequence[str]) -> bool:
    """A line of three letters or more that is no part of a title nor a bare numbering."""
    bare = line.lstrip("0123456789")
    if len(bare) < 3 or _CHAPTER.match(line):
        return False
    return not any(bare in t for t in titles)


def running_texts(path: Path) -> set[str]:
    """Return the letters of every line the structure pass calls a running header/footer."""
    texts: set[str] = set()
    with pymupdf.open(path) as doc:
        layout = analyse(doc)
        for page in doc:
            lines = page_lines(page)
            for index, line in enumerate(lines):
                running = is_running(layout, lines, index, page.rect.height)
                if running and len(key := letters(line.text)) >= 6:
                    texts.add(key)
    return texts


def after_passages(options: ExtractOptions, path: Path) -> Iterator[ExtractedSegment]:
    """Yield the text passages ``extract_pdf`` gives with ``options``, pulling every segment
    (the structure pass runs on the first pull, so a timing of the pulls includes it)."""
    extraction = extract_pdf(path, "application/pdf", options)
    yield from (s for s in extraction.segments if s.modality == Modality.TEXT)


def measure(
    passages: Iterator[ExtractedSegment], titles: dict[int, list[str]], running: set[str]
) -> Figures:
    started = time.perf_counter()
    segments = list(passages)
    seconds = time.perf_counter() - started
    crossing = sum(crosses(s, titles) for s in segments)
    with_running = sum(
        any(letters(line) in running for line in s.text.split("\n")) for s in segments
    )
    return Figures(
        passages=len(segments),
        crossing=crossing,
        crossing_share=round(crossing / max(len(segments), 1), 3),
        with_leaders=sum(bool(_LEADERS.search(s.text)) for s in segments),
        with_running_line=with_running,
        seconds=round(seconds, 2),
    )


def font_heading_match(plain: Path, titles: dict[int, list[str]]) -> dict[str, float]:
    """Return recall/precision of font headings (outline removed) against outline titles."""
    options = ExtractOptions(ocr=False, chunk_chars=100_000)  # one passage per section
    sections = {
        (s.locator.page, s.locator.section)
        for s in after_passages(options, plain)
        if s.locator.section
    }
    found = [(page or 0, letters(path.split(" > ")[-1])) for page, path in sections]
    wanted = [(p, t) for p, ts in titles.items() for t in ts]
    hit = sum(any(_same(t, f) for fp, f in found if abs(fp - p) <= 1) for p, t in wanted)
    good = sum(any(_same(t, f) for tp, t in wanted if abs(fp - tp) <= 1) for fp, f in found)
    return {
        "outline_titles": len(wanted),
        "font_headings": len(found),
        "recall": round(hit / max(len(wanted), 1), 3),
        "precision": round(good / max(len(found), 1), 3),
    }


def _same(title: str, heading: str) -> bool:
    heading = heading.lstrip("0123456789")
    return bool(heading) and heading[:TITLE_LETTERS] == title[:TITLE_LETTERS]


def run(path: Path, workdir: Path) -> dict[str, object]:
    options = ExtractOptions(ocr=False)
    with pymupdf.open(path) as doc:
        titles = outline_titles(doc)
        doc.set_toc([])
        plain = workdir / f"{path.stem}-no-outline.pdf"
        doc.save(plain)
    running = running_texts(path)
    off = replace(options, pdf_structure=False)
    results: dict[str, object] = {
        "off (before)": measure(after_passages(off, path), titles, running),
        "outline": measure(after_passages(options, path), titles, running),
        "fonts": measure(after_passages(options, plain), titles, running),
    }
    results["font headings vs outline"] = font_heading_match(plain, titles)
    return results


def print_figures(name: str, results: dict[str, object]) -> None:
    print(f"\n== {name}")
    print(f"{'passages from':<16} {'passages':>8} {'crossing':>9} {'share':>6} "
          f"{'leaders':>8} {'running':>8} {'seconds':>8}")  # fmt: skip
    for mode, figures in results.items():
        if isinstance(figures, Figures):
            print(
                f"{mode:<16} {figures.passages:>8} {figures.crossing:>9} "
                f"{figures.crossing_share:>6.3f} {figures.with_leaders:>8} "
                f"{figures.with_running_line:>8} {figures.seconds:>8.2f}"
            )
    print("font headings vs outline titles:", results["font headings vs outline"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, nargs="*", help="PDFs with an outline")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory(prefix="mmrag-pdf-structure-") as tmp:
        workdir = Path(tmp)
        paths = args.pdf or _packaged(workdir)
        for path in paths:
            results = run(path, workdir)
            print_figures(path.name, results)
            figures[path.name] = {
                k: asdict(v) if isinstance(v, Figures) else v for k, v in results.items()
            }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def _packaged(workdir: Path) -> list[Path]:
    """Return the packaged manuals (the FAQ unzipped into ``workdir``), or exit naming them."""
    if not DEBIAN_FAQ.exists() or not GNUPLOT.exists():
        raise SystemExit("needs: apt-get install -y debian-faq gnuplot-doc")
    faq = workdir / "debian-faq.en.pdf"
    faq.write_bytes(gzip.decompress(DEBIAN_FAQ.read_bytes()))
    return [faq, GNUPLOT]


if __name__ == "__main__":
    main()
