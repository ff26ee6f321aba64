"""BM25 engines on a synthetic Zipf corpus: queries/s, add/delete cost, top-10 overlap.

Corpus: ``--vocab`` words with Zipf(s=1) frequencies, segments of 50-150 tokens, 10
segments per document; queries of 2-5 terms from the same distribution. Every engine gets
the same texts and the same :class:`index.tokenize.Tokenizer`. rank-bm25 (k1=1.2, b=0.75,
set explicitly: its default k1 is 1.5) is the baseline for speed and for top-10 overlap;
it runs up to ``--rank-bm25-max`` segments. Ratios are measured in this run.

    .venv/bin/python bench/bm25.py                       # 100k and 1M, all engines (~15 min)
    .venv/bin/python bench/bm25.py --sizes 100000 --engines tantivy rank-bm25
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.bm25.base import K1, TermDoc, TermHit
from index.filters import Filter, Payload
from index.tokenize import Tokenizer

SEGMENTS_PER_DOCUMENT = 10


class Engine(Protocol):
    def add(self, docs: Sequence[TermDoc]) -> None: ...
    def delete_documents(self, document_ids: Sequence[str]) -> None: ...
    def search(self, query: str, k: int, where: Filter) -> list[TermHit]: ...


def zipf_texts(n: int, vocab: int, seed: int) -> list[str]:
    """Return ``n`` segments of 50-150 Zipf-distributed words."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocab)], dtype=object)
    cdf = np.cumsum(1.0 / np.arange(1, vocab + 1))
    cdf /= cdf[-1]
    lengths = rng.integers(50, 151, size=n)
    ids = np.searchsorted(cdf, rng.random(int(lengths.sum())))
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [" ".join(words[ids[a:b]]) for a, b in itertools.pairwise(bounds)]


def zipf_queries(count: int, vocab: int, seed: int) -> list[str]:
    """Return ``count`` queries of 2-5 words drawn from the corpus distribution."""
    texts = zipf_texts(count, vocab, seed + 1)
    rng = np.random.default_rng(seed + 2)
    return [" ".join(t.split()[: int(rng.integers(2, 6))]) for t in texts]


def term_docs(texts: Sequence[str], offset: int = 0) -> list[TermDoc]:
    return [
        TermDoc(Payload(f"s{i}", f"d{i // SEGMENTS_PER_DOCUMENT}", "c", "text", "text/plain"), t)
        for i, t in enumerate(texts, start=offset)
    ]


class RankBM25:
    """rank-bm25's BM25Okapi behind the same surface (search only)."""

    def __init__(self, texts: Sequence[str], tokenizer: Tokenizer) -> None:
        from rank_bm25 import BM25Okapi

        self.tokenizer = tokenizer
        self.model = BM25Okapi([tokenizer(t) for t in texts], k1=K1, b=0.75)

    def search(self, query: str, k: int, where: Filter) -> list[TermHit]:
        scores = self.model.get_scores(self.tokenizer(query))
        top = np.argsort(-scores, kind="stable")[:k]
        return [TermHit(f"s{i}", float(scores[i])) for i in top]


class BM25S:
    """bm25s: a static sparse matrix, rebuilt whole to take any change."""

    def __init__(self, texts: Sequence[str], tokenizer: Tokenizer) -> None:
        import bm25s

        self.tokenizer = tokenizer
        self.model = bm25s.BM25(k1=K1, b=0.75, method="lucene")
        self.model.index([tokenizer(t) for t in texts], show_progress=False)

    def search(self, query: str, k: int, where: Filter) -> list[TermHit]:
        tokens = [t for t in self.tokenizer(query) if t in self.model.vocab_dict]
        if not tokens:
            return []
        ids, scores = self.model.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        return [TermHit(f"s{i}", float(s)) for i, s in zip(ids[0], scores[0], strict=True)]


def open_incremental(name: str, root: Path, tokenizer: Tokenizer) -> Engine:
    if name == "tantivy":
        from index.bm25.tantivy_index import TantivyBM25

        return TantivyBM25(root / "tantivy", tokenizer)
    from index.bm25.sqlite_fts import SqliteBM25

    return SqliteBM25(root / "fts5.sqlite", tokenizer)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_queries(engine: Engine | RankBM25 | BM25S, queries: Sequence[str], budget_s: float):
    """Return (queries/s, top-10 ids per query run) within a time budget."""
    for q in queries[:10]:  # warm caches and lazily computed statistics
        engine.search(q, 10, Filter())
    results: list[list[str]] = []
    start = time.perf_counter()
    for q in queries:
        results.append([h.segment_id for h in engine.search(q, 10, Filter())])
        if time.perf_counter() - start > budget_s:
            break
    return len(results) / (time.perf_counter() - start), results


def overlap(a: Sequence[Sequence[str]], b: Sequence[Sequence[str]]) -> float:
    pairs = list(zip(a, b, strict=False))
    return sum(len(set(x) & set(y)) / max(len(y), 1) for x, y in pairs) / max(len(pairs), 1)


def build_incremental(name: str, root: Path, texts: Sequence[str], tok: Tokenizer) -> Engine:
    engine = open_incremental(name, root, tok)
    docs = term_docs(texts)
    for i in range(0, len(docs), 50_000):
        engine.add(docs[i : i + 50_000])
    return engine


def write_costs(engine: Engine, n: int, vocab: int) -> tuple[float, float]:
    """Return ms per add of one 10-segment document and per delete of one document."""
    extra = term_docs(zipf_texts(200, vocab, seed=99), offset=n)
    batches = [extra[i : i + SEGMENTS_PER_DOCUMENT] for i in range(0, 200, SEGMENTS_PER_DOCUMENT)]
    add_s = timed(lambda: [engine.add(b) for b in batches])
    victims = [f"d{i}" for i in range(0, 20)]
    delete_s = timed(lambda: [engine.delete_documents([d]) for d in victims])
    return 1000 * add_s / len(batches), 1000 * delete_s / len(victims)


def bench_size(n: int, args: argparse.Namespace, tok: Tokenizer) -> None:
    print(f"\n## {n:,} segments (vocab {args.vocab:,}, Zipf s=1, 50-150 tokens)", flush=True)
    texts = zipf_texts(n, args.vocab, args.seed)
    queries = zipf_queries(args.queries, args.vocab, args.seed)
    reference: list[list[str]] | None = None
    ref_qps = None
    if "rank-bm25" in args.engines and n <= args.rank_bm25_max:
        build = timed(lambda: setattr(args, "_ref", RankBM25(texts, tok)))
        ref_qps, reference = run_queries(args._ref, queries, args.budget)
        print(f"rank-bm25  build {build:7.1f} s  {ref_qps:9.1f} q/s  (baseline)", flush=True)
        del args._ref
    for name in [e for e in args.engines if e != "rank-bm25"]:
        with tempfile.TemporaryDirectory() as tmp:
            report_engine(name, Path(tmp), n, texts, queries, reference, ref_qps, args, tok)


def report_engine(name, root, n, texts, queries, reference, ref_qps, args, tok) -> None:
    start = time.perf_counter()
    engine: Engine | BM25S
    engine = BM25S(texts, tok) if name == "bm25s" else build_incremental(name, root, texts, tok)
    build = time.perf_counter() - start
    qps, results = run_queries(engine, queries, args.budget)
    line = f"{name:10} build {build:7.1f} s  {qps:9.1f} q/s"
    if ref_qps:
        line += f"  x{qps / ref_qps:6.1f} rank-bm25"
    if reference:
        compared = min(len(results), len(reference))
        line += f"  top10 overlap {overlap(results, reference):.3f} ({compared} q)"
    if name == "bm25s":
        line += f"  add/delete: full rebuild ({build:.1f} s)"
    else:
        add_ms, del_ms = write_costs(engine, n, args.vocab)  # type: ignore[arg-type]
        line += f"  add 1 doc (10 seg) {add_ms:6.1f} ms  delete 1 doc {del_ms:6.1f} ms"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", default=["rank-bm25", "tantivy", "fts5", "bm25s"])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds of queries per engine")
    parser.add_argument("--vocab", type=int, default=100_000)
    parser.add_argument("--rank-bm25-max", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tok = Tokenizer()
    print(f"tokenizer {tok.name}; k1={K1} b=0.75; 1 thread; top 10; no filter")
    for n in args.sizes:
        bench_size(n, args, tok)


if __name__ == "__main__":
    main()
