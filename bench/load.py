"""Search under bulk ingestion: latency and errors of concurrent search clients while a bulk
job runs, against the same clients with no ingestion; ingestion throughput with and without
the search load. Everything runs on 127.0.0.1 (the script refuses any other host).

One run, on a fresh data dir:

1. seed: ``mmrag ingest`` a small corpus (so searches find something), with its own worker;
2. ``mmrag serve --no-worker`` (the API) and one ``mmrag worker`` (default 2 processes),
   both started once and warmed up;
3. *search alone*: --clients threads with keep-alive HTTP clients send text searches
   (default channels, k=10) for --search-seconds;
4. *ingest alone*: ``mmrag ingest --no-wait`` of half of the --files generated files, timed
   from the command's start to the job's end (polled through /v1/jobs);
5. *ingest + search*: the other half, same mix, while the clients search until it ends.

Printed: requests, errors, p50/p99 per phase and p99 ratio (goal <= 3), files/s of each
ingestion and their ratio. The corpus mixes .txt, .md, small PDFs and PNGs (seeded, same
bytes every run); image/audio spaces use the tiny random-weight models (offline), so their
encode cost is a lower bound of real CLIP.

    .venv/bin/python bench/load.py                              # 1000 files, 4 clients
    .venv/bin/python bench/load.py --files 200 --clients 2      # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
from bench.corpus import TOPICS, encode, paragraph, picture, write_pdf  # noqa: E402

MMRAG = [sys.executable, "-m", "mmrag"]
HOST = "127.0.0.1"
MAX_CLIENTS = 32
MAX_SECONDS = 1800
ENV = {
    "MMRAG_OFFLINE": "1",
    "MMRAG_ALLOW_RANDOM_WEIGHTS": "1",
    "MMRAG_IMAGE_MODEL": "mmrag-tiny-clip",
    "MMRAG_SPACES": json.dumps(["text", "image"]),
    "PYTHONWARNINGS": "ignore",
}
WORDS = sorted({w for t in TOPICS for w in (*t.things, *t.actions, *t.qualities)})


def write_files(out: Path, count: int, seed: int) -> None:
    """Write ``count`` files: 60% .txt, 20% .md, 15% 2-page PDFs, 5% PNGs (seeded)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        topic, kind = rng.choice(TOPICS), rng.random()
        if kind < 0.60:
            text = "\n\n".join(paragraph(rng, topic) for _ in range(rng.randint(1, 4)))
            (out / f"note-{seed}-{i:05d}.txt").write_text(f"Note {seed}-{i}\n\n{text}\n")
        elif kind < 0.80:
            body = "\n\n".join(f"## Part {p}\n\n{paragraph(rng, topic)}" for p in range(1, 4))
            (out / f"page-{seed}-{i:05d}.md").write_text(f"# {topic.name} {i}\n\n{body}\n")
        elif kind < 0.95:
            write_pdf(out / f"manual-{seed}-{i:05d}.pdf", rng, pages=2)
        else:
            (out / f"picture-{seed}-{i:05d}.png").write_bytes(encode(picture(rng), "PNG"))


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | str]:
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.array([np.nan])
        return {
            "phase": self.name,
            "requests": len(self.latencies_ms) + self.errors,
            "errors": self.errors,
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "req_per_s": round(len(self.latencies_ms) / max(self.seconds, 1e-9), 1),
        }


class SearchLoad:
    """--clients threads searching until stopped (or the phase's time limit)."""

    def __init__(self, base: str, clients: int, collections: list[str]) -> None:
        self.base, self.clients, self.collections = base, clients, collections

    def run(self, phase: Phase, stop: threading.Event, limit_s: float) -> None:
        lock = threading.Lock()
        deadline = time.monotonic() + limit_s

        def client(seed: int) -> None:
            rng = random.Random(seed)
            with httpx.Client(base_url=self.base, timeout=60) as http:
                while not stop.is_set() and time.monotonic() < deadline:
                    body = {
                        "collections": self.collections,
                        "query": {"text": " ".join(rng.sample(WORDS, rng.randint(1, 3)))},
                        "k": 10,
                    }
                    start = time.perf_counter()
                    try:
                        response = http.post("/v1/search", json=body)
                        ok, detail = response.status_code == 200, response.text[:200]
                    except httpx.HTTPError as exc:
                        ok, detail = False, repr(exc)
                    elapsed = (time.perf_counter() - start) * 1000
                    with lock:
                        if ok:
                            phase.latencies_ms.append(elapsed)
                        else:
                            phase.errors += 1
                            phase.error_samples = [*phase.error_samples, detail][:5]

        threads = [threading.Thread(target=client, args=(i,)) for i in range(self.clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        phase.seconds = time.monotonic() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def ingest(data_dir: Path, env: dict[str, str], folder: Path, collection: str) -> str:
    """Queue ``folder`` as one job (no waiting; the running worker takes it); return its id."""
    command = [*MMRAG, "ingest", str(folder), "-c", collection, "--no-wait"]
    done = subprocess.run(
        [*command, "--data-dir", str(data_dir)], env=env, capture_output=True, text=True
    )
    found = re.search(r"job ([0-9a-f]{32})", done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"mmrag ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    return found.group(1)


def wait_job(http: httpx.Client, job_id: str, limit_s: float) -> dict[str, object]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job: dict[str, object] = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] == "done":
            return job
        time.sleep(0.25)
    sys.exit(f"job {job_id} not done after {limit_s:.0f}s")


def timed_ingest(
    data_dir: Path, env: dict[str, str], http: httpx.Client, folder: Path, name: str
) -> tuple[float, dict[str, object]]:
    start = time.monotonic()
    job = wait_job(http, ingest(data_dir, env, folder, name), MAX_SECONDS)
    return time.monotonic() - start, job


def wait_ready(http: httpx.Client, limit_s: float = 180) -> None:
    """Wait until the API answers, a worker is live and the spaces have loaded."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            checks = http.get("/readyz").json()["checks"]
            loading = any(s.get("state") == "loading" for s in checks["spaces"].values())
            if checks["workers"]["live"] and not loading:
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.5)
    sys.exit("the service did not become ready")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn and Celery both shut down warm
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def run(args: argparse.Namespace, work: Path) -> dict[str, object]:
    data_dir, port = work / "data", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMRAG_")}
    env.update(ENV, MMRAG_WORKER_CONCURRENCY=str(args.processes))
    half = args.files // 2
    print(f"writing {args.seed_files} seed files and 2 x {half} bulk files ...", flush=True)
    write_files(work / "seed", args.seed_files, seed=1)
    write_files(work / "bulk-a", half, seed=2)
    write_files(work / "bulk-b", half, seed=3)
    seeded = subprocess.run(
        [*MMRAG, "ingest", str(work / "seed"), "-c", "seed", "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if seeded.returncode != 0:
        sys.exit(f"seeding failed: {seeded.stderr[-2000:]}")
    serve = [*MMRAG, "serve", "--no-worker", "--host", HOST, "--port", str(port)]
    procs = [
        subprocess.Popen([*serve, "--data-dir", str(data_dir)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([*MMRAG, "worker", "--data-dir", str(data_dir), "--loglevel=ERROR"],
                         env={**env, "MMRAG_WORKER_NICE": str(args.worker_nice)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=60) as http:
            wait_ready(http)
            load = SearchLoad(f"http://{HOST}:{port}", args.clients, ["seed", "bulk_a", "bulk_b"])
            for name in ("bulk_a", "bulk_b"):
                http.post("/v1/collections", json={"name": name})
            load.run(Phase("warm-up"), threading.Event(), 5)
            print(f"search alone: {args.clients} clients for {args.search_seconds:.0f}s ...")
            alone = Phase("search alone")
            load.run(alone, threading.Event(), args.search_seconds)
            print(f"ingest alone: {half} files ...", flush=True)
            quiet_s, quiet_job = timed_ingest(data_dir, env, http, work / "bulk-a", "bulk_a")
            print(f"ingest + search: {half} files, {args.clients} clients ...", flush=True)
            busy, done = Phase("search during ingestion"), threading.Event()
            searcher = threading.Thread(target=load.run, args=(busy, done, MAX_SECONDS))
            searcher.start()
            try:
                busy_s, busy_job = timed_ingest(data_dir, env, http, work / "bulk-b", "bulk_b")
            finally:
                done.set()
                searcher.join()
    finally:
        for proc in procs:
            stop(proc)
    return figures(args, alone, busy, (quiet_s, quiet_job), (busy_s, busy_job))


def figures(
    args: argparse.Namespace,
    alone: Phase,
    busy: Phase,
    quiet: tuple[float, dict[str, object]],
    loaded: tuple[float, dict[str, object]],
) -> dict[str, object]:
    a, b = alone.summary(), busy.summary()
    files = args.files // 2
    quiet_rate, busy_rate = files / quiet[0], files / loaded[0]
    return {
        "files_per_phase": files,
        "clients": args.clients,
        "worker_processes": args.processes,
        "worker_nice": args.worker_nice,
        "search_alone": a,
        "search_during_ingestion": b,
        "p50_ratio": round(float(b["p50_ms"]) / float(a["p50_ms"]), 2),
        "p99_ratio": round(float(b["p99_ms"]) / float(a["p99_ms"]), 2),
        "ingest_alone": {"seconds": round(quiet[0], 1), "files_per_s": round(quiet_rate, 2),
                         "done": quiet[1]["done"], "failed": quiet[1]["failed"]},
        "ingest_under_load": {"seconds": round(loaded[0], 1), "files_per_s": round(busy_rate, 2),
                              "done": loaded[1]["done"], "failed": loaded[1]["failed"]},
        "ingest_ratio": round(busy_rate / quiet_rate, 2),
        "error_samples": busy.error_samples + alone.error_samples,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }  # fmt: skip


def report(out: dict[str, object]) -> None:
    print()
    for key in ("search_alone", "search_during_ingestion"):
        s = out[key]
        assert isinstance(s, dict)
        print(
            f"{s['phase']:<26} requests {s['requests']:>6}  errors {s['errors']:>3}  "
            f"p50 {s['p50_ms']:>7.1f} ms  p99 {s['p99_ms']:>7.1f} ms  {s['req_per_s']:>6.1f} req/s"
        )
    print(f"p99 ratio (during / alone): {out['p99_ratio']}  (goal <= 3)")
    print(f"p50 ratio (during / alone): {out['p50_ratio']}")
    for key in ("ingest_alone", "ingest_under_load"):
        i = out[key]
        assert isinstance(i, dict)
        print(
            f"{key:<26} {out['files_per_phase']} files in {i['seconds']:>6.1f} s = "
            f"{i['files_per_s']:>6.2f} files/s  (indexed {i['done']}, failed {i['failed']})"
        )
    print(f"ingestion ratio (under load / alone): {out['ingest_ratio']}")
    print(f"worker nice {out['worker_nice']}", end="; ")
    print(f"load average {out['load_average']} on {out['cpus']} CPUs")
    for sample in out["error_samples"]:  # type: ignore[attr-defined]
        print(f"error: {sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="bulk files, split in 2 halves")
    parser.add_argument("--seed-files", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4, help=f"at most {MAX_CLIENTS}")
    parser.add_argument("--search-seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="MMRAG_WORKER_NICE for the worker (0-19; 10 is mmrag's default, 0 = same as the API)",
    )
    parser.add_argument("--workdir", type=Path, help="keep corpus and data dir here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.clients <= MAX_CLIENTS or not 2 <= args.files <= 100_000:
        parser.error(f"--clients must be 1..{MAX_CLIENTS} and --files 2..100000")
    args.search_seconds = min(args.search_seconds, MAX_SECONDS)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mmrag-load-"))
    if args.workdir and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        out = run(args, work)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    sys.exit(1 if out["search_during_ingestion"]["errors"] else 0)  # type: ignore[index]


if __name__ == "__main__":
    main()
