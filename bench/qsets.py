"""Labelled query sets built from the structure of real FAQ pages installed by apt packages.

Sources (never copied into the repository; read from where the packages put them):

- ``debian-faq``: the Debian FAQ as HTML, one page per chapter (``*.en.html``), each
  question an ``<h2>``/``<h3>`` heading with its answer below it.
- ``python3-doc``: the Python FAQ pages (``html/faq/*.html``), one ``<h2>``/``<h3>`` per
  question with its answer below it.

Before anything is labelled, each page loses what is not its content: the chapter table of
contents, Sphinx's sidebar / navigation bars / footer, and the "¶" header links (those would
repeat every question elsewhere on the page). A *labelled section* is a heading with answer
text below it (up to the next heading); it is identified by its document and its heading
text, which mmrag's HTML extractor puts last in ``Locator.section``.

A query that still stands verbatim on any indexed page (a cross-reference quoting the
question, a sentence said twice) is dropped. Two forms, each its own corpus:

- ``cloze`` (inverse cloze): the query is the first sentence of at least
  ``MIN_QUERY_WORDS`` words in the section's answer; that sentence is deleted from the page
  that is indexed. The section must keep ``MIN_LEFT_WORDS`` words of answer without it.
- ``question`` (natural form): for headings that are questions (end in "?"), the query is
  the question and the heading text in the indexed page becomes a neutral label
  ("Item 17"), so the question's words are not in the index verbatim.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag, XMLParsedAsHTMLWarning

DEBIAN_FAQ = Path("/usr/share/doc/debian/FAQ")
PYTHON_FAQ_CANDIDATES = sorted(Path("/usr/share/doc").glob("python3*/html/faq"))
MIN_QUERY_WORDS = 6
MIN_LEFT_WORDS = 20
FORMS = ("cloze", "question")

_CHROME = [
    {"class_": "toc"}, {"class_": "sphinxsidebar"}, {"class_": "related"},
    {"class_": "footer"}, {"class_": "navheader"}, {"class_": "navfooter"},
    {"class_": "headerlink"}, {"role": "navigation"}, {"name": "nav"}, {"name": "head"},
]  # fmt: skip
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(`'])")
_NUMBERING = re.compile(r"^(\d+(\.\d+)*\.?\s+)")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


class MissingPackage(RuntimeError):
    """A package the corpus comes from is not installed."""


@dataclass(frozen=True)
class Label:
    """One query and where its answer lives: ``source`` file and heading text there."""

    query: str
    source: str  # file name of the page as ingested
    heading: str  # heading text exactly as the extractor sees it (whitespace collapsed)
    corpus: str  # "debian-faq" or "python-faq"


@dataclass(frozen=True)
class Page:
    """A page ready to ingest: file name and the HTML with its labelled edits applied."""

    name: str
    html: str


def source_pages() -> list[tuple[str, Path]]:
    """Return (corpus name, path) of every FAQ page; raise MissingPackage naming the fix."""
    missing = []
    debian = sorted(p for p in DEBIAN_FAQ.glob("*.en.html") if p.name != "index.en.html")
    if not debian:
        missing.append("debian-faq")
    python_dir = next((d for d in PYTHON_FAQ_CANDIDATES if d.is_dir()), None)
    python = (
        sorted(p for p in python_dir.glob("*.html") if p.name != "index.html") if python_dir else []
    )
    if not python:
        missing.append("python3-doc")
    if missing:
        raise MissingPackage(
            f"missing the real-document corpus: apt-get install -y {' '.join(missing)}"
        )
    return [("debian-faq", p) for p in debian] + [("python-faq", p) for p in python]


def build(form: str) -> tuple[list[Page], list[Label]]:
    """Return the pages to ingest and the labelled queries of one form (``FORMS``)."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; known: {FORMS}")
    pages: list[Page] = []
    labels: list[Label] = []
    texts: list[str] = []
    for corpus, path in source_pages():
        name = f"{corpus}-{path.name}"
        with warnings.catch_warnings():  # the Debian pages are XHTML; lxml's HTML parser is fine
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(path.read_bytes(), "lxml")
        _strip_chrome(soup)
        edit = _cloze if form == "cloze" else _question
        found = [edit(heading, n) for n, heading in enumerate(_unique_headings(soup))]
        texts.append(_page_text(soup))
        labels += [Label(q, name, h, corpus) for q, h in filter(None, found)]
        pages.append(Page(name, str(soup)))
    # A query quoted verbatim on ANY indexed page (a "see also" cross-reference) measures
    # string matching, not retrieval: drop it.
    return pages, [label for label in labels if not any(label.query in t for t in texts)]


def _page_text(soup: BeautifulSoup) -> str:
    """Return the page text twice (blocks joined with and without a space) for leak checks."""
    return clean(soup.get_text(" ")) + "\n" + clean(soup.get_text())


def _strip_chrome(soup: BeautifulSoup) -> None:
    for selector in _CHROME:
        for tag in soup.find_all(**selector):
            tag.decompose()


def _unique_headings(soup: BeautifulSoup) -> Iterator[Tag]:
    """Yield headings whose text occurs once on the page (so a label is unambiguous)."""
    headings = soup.find_all(_HEADINGS)
    counts: dict[str, int] = {}
    for tag in headings:
        counts[clean(tag.get_text())] = counts.get(clean(tag.get_text()), 0) + 1
    yield from (tag for tag in headings if counts[clean(tag.get_text())] == 1)


def _answer_paragraphs(heading: Tag) -> list[Tag]:
    """Return the ``<p>`` elements between ``heading`` and the next heading."""
    found: list[Tag] = []
    for node in heading.find_all_next(["p", *_HEADINGS]):
        if node.name in _HEADINGS:
            break
        found.append(node)
    return found


def _cloze(heading: Tag, _: int) -> tuple[str, str] | None:
    """Cut the answer's first long-enough sentence out of the page; return (query, heading)."""
    paragraphs = _answer_paragraphs(heading)
    for p in paragraphs:
        sentences = _SENTENCE_END.split(clean(p.get_text()))
        for i, sentence in enumerate(sentences):
            if len(sentence.split()) < MIN_QUERY_WORDS:
                continue
            rest = " ".join(sentences[:i] + sentences[i + 1 :])
            left = sum(len(clean(q.get_text()).split()) for q in paragraphs if q is not p)
            if left + len(rest.split()) < MIN_LEFT_WORDS:
                return None
            _replace_text(p, rest)
            return sentence, clean(heading.get_text())
        # a paragraph of short sentences ("Yes.") is skipped; the next one may qualify
    return None


def _question(heading: Tag, n: int) -> tuple[str, str] | None:
    """Replace a question heading by a neutral label; return (question, new heading)."""
    text = clean(heading.get_text())
    question = _NUMBERING.sub("", text)
    if not question.endswith("?") or len(question.split()) < 3:
        return None
    if sum(len(clean(p.get_text()).split()) for p in _answer_paragraphs(heading)) < MIN_LEFT_WORDS:
        return None
    label = f"Item {n}"
    _replace_text(heading, label)
    return question, label


def _replace_text(tag: Tag, text: str) -> None:
    tag.clear()
    tag.append(NavigableString(text))


def clean(text: str) -> str:
    """Return ``text`` with whitespace runs collapsed, as mmrag's HTML extractor does."""
    return " ".join(text.replace("\u00a0", " ").split())


def main() -> None:
    """Print the size of each query set (a quick look at what quality.py will measure)."""
    for form in FORMS:
        pages, labels = build(form)
        by_corpus = {c: sum(lb.corpus == c for lb in labels) for c in ("debian-faq", "python-faq")}
        print(f"{form}: {len(pages)} pages, {len(labels)} queries {by_corpus}")
        for label in labels[:3]:
            print(f"  {label.query!r} -> {label.source} :: {label.heading!r}")


if __name__ == "__main__":
    main()
