"""Cost of API keys + metrics middleware on ``POST /v1/search``: both on against both off.

Two ``mmrag serve --no-worker`` processes on 127.0.0.1 serve copies of one data directory
(``--segments`` per space, built as bench/search.py builds it): OFF has no API keys and
``MMRAG_METRICS=false`` (no timing middleware, no /metrics); ON has an admin key (every request
authenticated: header parsed, key cached after the first catalog lookup, grants checked
per collection) and the metrics middleware (request id, latency histogram by route). One
client sends the same text queries to both, alternating blocks of ``--block`` requests for
``--rounds`` rounds so that both see the same machine conditions. Reported: median and mean
latency of each and their ratios ON / OFF. Goal: <= 1.05.

    .venv/bin/python bench/overhead.py [--segments 20000] [--rounds 10] [--block 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.search import ENV, body, build, free_port, start_server
from bench.search_data import real_sentences
from mmrag.catalog import keys
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        off_dir, on_dir = Path(tmp) / "off", Path(tmp) / "on"
        build(off_dir, args.segments)
        shutil.copytree(off_dir, on_dir)
        catalog = Catalog(Settings(data_dir=on_dir).resolved_catalog_url)
        with catalog.session() as session:
            _, key = keys.create_key(session, "bench", keys.parse_grants("admin", []))
        catalog.engine.dispose()
        os.environ["MMRAG_METRICS"] = "false"
        off_port, on_port = free_port(), free_port()
        off = start_server(off_dir, off_port)
        os.environ["MMRAG_METRICS"] = "true"
        on = start_server(on_dir, on_port)
        try:
            measure(args, off_port, on_port, key)
        finally:
            for proc in (off, on):
                proc.terminate()
                proc.wait(timeout=30)


def measure(args: argparse.Namespace, off_port: int, on_port: int, key: str) -> None:
    queries = real_sentences()[:200]
    targets = {
        "off": (f"http://127.0.0.1:{off_port}/v1/search", httpx.Client(timeout=60)),
        "on": (
            f"http://127.0.0.1:{on_port}/v1/search",
            httpx.Client(timeout=60, headers={"Authorization": f"Bearer {key}"}),
        ),
    }
    walls: dict[str, list[float]] = {"off": [], "on": []}
    for url, client in targets.values():  # warm-up: models, caches, connections
        for text in queries[:10]:
            response = client.post(url, json=body(text))
            assert response.status_code == 200, response.text
    for round_ in range(args.rounds):
        order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
        for name in order:
            url, client = targets[name]
            for i in range(args.block):
                text = queries[(round_ * args.block + i) % len(queries)]
                started = time.perf_counter()
                response = client.post(url, json=body(text))
                walls[name].append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {response.status_code} {response.text[:200]}")
    for _, client in targets.values():
        client.close()
    med = {n: statistics.median(w) * 1000 for n, w in walls.items()}
    mean = {n: statistics.fmean(w) * 1000 for n, w in walls.items()}
    print(f"{len(walls['on'])} searches each, {args.segments} segments per space, env {ENV}")
    print(f"both off: median {med['off']:.2f} ms, mean {mean['off']:.2f} ms")
    print(f"both on:  median {med['on']:.2f} ms, mean {mean['on']:.2f} ms")
    ratio = med["on"] / med["off"]
    verdict = "met" if ratio <= 1.05 else "NOT met"
    print(
        f"ratio on/off: median {ratio:.3f}, mean {mean['on'] / mean['off']:.3f} "
        f"(goal <= 1.05: {verdict})"
    )


if __name__ == "__main__":
    main()
