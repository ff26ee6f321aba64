"""Vector search figures: exact vs the memory-bandwidth bound, and the default HNSW setting.

For each size (512-d random normalised vectors; ``--data clustered`` for a mixture of
Gaussians, closer to real embeddings) it measures, in the same run:

- read bandwidth (numpy sum over a 1 GiB array; 1 thread, and all threads), GB/s;
- exact search (the store's flat index) on SINGLE queries (one ``search`` call per query,
  as the API issues them) and on one batch of queries; the bound for a single query is
  bandwidth / (n * dim * 4 bytes scanned); the fraction printed is measured / bound;
- HNSW as :func:`index.stores.faiss_shard.new_index` builds it from mmrag's settings (or
  ``--m/--ef-construction``): build time, then for each efSearch in ``--ef-search``
  recall@10 against exact and single-query queries/s as a ratio to exact.

    .venv/bin/python bench/vectors.py                       # 100k
    .venv/bin/python bench/vectors.py --sizes 100000,1000000
    .venv/bin/python bench/vectors.py --data real --sizes 10000,40000 --threads 1 \
        --ef-search 16,32,64,128,256,512     # real MiniLM vectors, cached under bench/out
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.stores.faiss_shard import IndexOptions, new_index
from mmrag.settings import Settings

Matrix = np.ndarray


def bandwidth_gbs(threads: int, gib: float = 1.0) -> float:
    """Best-of-5 read bandwidth: ``threads`` numpy sums over slices of one big array."""
    data = np.ones(int(gib * 2**30) // 4, dtype=np.float32)
    parts = np.array_split(data, threads)
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(5):
            start = time.perf_counter()
            list(pool.map(np.sum, parts))
            best = min(best, time.perf_counter() - start)
    return data.nbytes / best / 1e9


def make_data(n: int, dim: int, kind: str, seed: int) -> Matrix:
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    centres = rng.standard_normal((1000, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        rows = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        if kind == "clustered":
            rows = centres[rng.integers(0, len(centres), len(rows))] + 0.7 * rows
        out[start : start + len(rows)] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def single_query_qps(index: faiss.Index, queries: Matrix, k: int, budget_s: float) -> float:
    """Queries/s issuing one query per call, for at most ``budget_s`` (at least 3 queries)."""
    start, done = time.perf_counter(), 0
    for q in queries:
        index.search(q.reshape(1, -1), k)
        done += 1
        if done >= 3 and time.perf_counter() - start > budget_s:
            break
    return done / (time.perf_counter() - start)


def recall_at(found: Matrix, truth: Matrix) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def load_data(n: int, args: argparse.Namespace) -> tuple[Matrix, Matrix]:
    """Return ``n`` indexed rows and the query rows for ``args.data``."""
    if args.data == "real":
        from bench.vectors_real import embeddings

        return embeddings(n, args.queries, threads=1)
    return make_data(n, args.dim, args.data, seed=1), make_data(args.queries, args.dim,
                                                               args.data, seed=2)  # fmt: skip


def run_size(n: int, args: argparse.Namespace, options: IndexOptions, bw: dict[str, float]) -> None:
    k = 10
    data, queries = load_data(n, args)
    n, dim = data.shape
    print(f"\n== n = {n:,} x {dim} ({args.data}) ==", flush=True)
    ids = np.arange(n, dtype=np.int64)
    exact = new_index(dim, 0, IndexOptions(exact_threshold=n + 1, float16=options.float16))
    exact.add_with_ids(data, ids)
    start = time.perf_counter()
    _, truth = exact.search(queries, k)
    batch_qps = len(queries) / (time.perf_counter() - start)
    exact_qps = single_query_qps(exact, queries, k, args.budget)
    scanned = n * dim * (2 if options.float16 else 4)
    print(
        f"exact single-query: {exact_qps:9.1f} q/s; batched ({len(queries)} at once): "
        f"{batch_qps:9.1f} q/s"
    )
    for name, gbs in bw.items():
        bound = gbs * 1e9 / scanned
        print(
            f"  bandwidth bound ({name}, {gbs:5.1f} GB/s): {bound:8.1f} q/s -> single-query "
            f"exact reaches {exact_qps / bound:5.2f} of it"
        )
    del exact
    hnsw = new_index(dim, n, dataclasses.replace(options, exact_threshold=0))  # HNSW at any n
    start = time.perf_counter()
    hnsw.add_with_ids(data, ids)
    build_s = time.perf_counter() - start
    print(
        f"HNSW M={options.hnsw_m} efConstruction={options.ef_construction}"
        f"{' fp16' if options.float16 else ''}: build {build_s:.1f} s "
        f"({n / build_s:,.0f} vectors/s)",
        flush=True,
    )
    base = faiss.downcast_index(hnsw.index)
    enough: list[int] = []
    for ef in args.ef_search or [options.ef_search]:
        base.hnsw.efSearch = ef
        _, found = hnsw.search(queries, k)
        qps = single_query_qps(hnsw, queries, k, args.budget)
        mark = "  <- default" if ef == options.ef_search else ""
        recall = recall_at(found, truth)
        enough += [ef] if recall >= 0.95 else []
        print(
            f"  efSearch={ef:4d}: recall@10 {recall:.3f}, {qps:8.1f} q/s, "
            f"{qps / exact_qps:6.1f}x exact single-query{mark}",
            flush=True,
        )
    print(f"  smallest efSearch with recall@10 >= 0.95 at n = {n:,}: {min(enough, default=None)}")


def main() -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated, e.g. 100000,1000000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--data", choices=["random", "clustered", "real"], default="random",
        help="real: MiniLM embeddings of real doc passages (bench/vectors_real.py; 384-d)",
    )  # fmt: skip
    parser.add_argument("--m", type=int, default=settings.faiss_hnsw_m)
    parser.add_argument("--ef-construction", type=int, default=settings.faiss_hnsw_ef_construction)
    parser.add_argument("--ef-default", type=int, default=settings.faiss_hnsw_ef_search)
    parser.add_argument(
        "--ef-search",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[],
        help="efSearch values to sweep (default: the default only)",
    )
    parser.add_argument("--float16", action="store_true", default=settings.faiss_float16)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per q/s figure")
    parser.add_argument("--threads", type=int, default=0,
                        help="FAISS threads (0: default; the API searches with 1)")  # fmt: skip
    args = parser.parse_args()
    options = IndexOptions(
        hnsw_m=args.m,
        ef_construction=args.ef_construction,
        ef_search=args.ef_default,
        float16=args.float16,
    )
    faiss.omp_set_num_threads(args.threads or faiss.omp_get_max_threads())
    threads = faiss.omp_get_max_threads()
    bw = {"1 thread": bandwidth_gbs(1), f"{threads} threads": bandwidth_gbs(threads)}
    print(
        f"faiss {faiss.__version__}, {threads} OpenMP threads; read bandwidth: "
        + ", ".join(f"{name} {gbs:.1f} GB/s" for name, gbs in bw.items())
    )
    for n in (int(s) for s in args.sizes.split(",")):
        run_size(n, args, options, bw)


if __name__ == "__main__":
    main()
