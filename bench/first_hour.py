"""A new user's first minutes: `make run` on a fresh data dir, then searches from the CLI.

Runs ``make run`` (corpus, ingest, serve) of a source tree on a fresh data dir and a free
port, and prints: seconds to /healthz, the first search's latency after it, lines in the
`make run` log (and how many mention a warning or traceback) once every space has settled,
the seconds until the sample corpus is indexed, then `mmrag search` wall times while
that server runs and after it stopped. Give
``--tree`` another checkout (e.g. ``git archive`` of the base commit) to measure the
baseline on the same machine in the same session; compare figures only between such pairs.

    .venv/bin/python bench/first_hour.py [--tree DIR] [--venv .venv] [--runs 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

QUERY = "cooling loop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, deadline: float, proc: subprocess.Popen[bytes]) -> float:
    """Return the monotonic time at which ``url`` first answered 200."""
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer (make exited {proc.poll()})")


def spaces_settled(base: str, deadline: float) -> dict[str, Any]:
    """Return /readyz's spaces once none is loading or downloading (or at the deadline)."""
    spaces: dict[str, Any] = {}
    while time.monotonic() < deadline:
        spaces = httpx.get(f"{base}/readyz", timeout=5).json()["checks"]["spaces"]
        if all(s.get("state") not in ("loading", "downloading") for s in spaces.values()):
            break
        time.sleep(0.5)
    return spaces


def sample_indexed(base: str, deadline: float) -> float:
    """Return the monotonic time at which no document of ``sample`` is queued or processing."""
    url = f"{base}/v1/collections/sample/documents"
    while time.monotonic() < deadline:
        docs = httpx.get(url, params={"limit": 200}, timeout=10).json()["documents"]
        if docs and all(d["status"] in ("indexed", "failed") for d in docs):
            return time.monotonic()
        time.sleep(0.5)
    raise SystemExit("the sample was not indexed in time")


def cli_search(tree: Path, python: str, data: Path, env: dict[str, str]) -> float:
    command = [python, "-m", "mmrag", "search", QUERY, "-c", "sample", "--data-dir", str(data)]
    start = time.monotonic()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"mmrag search failed: {done.stderr[-2000:]}")
    return time.monotonic() - start


def log_figures(log: Path) -> dict[str, int]:
    lines = log.read_text(errors="replace").splitlines()
    noisy = [line for line in lines if "warning" in line.lower() or "traceback" in line.lower()]
    return {"log_lines": len(lines), "log_warning_lines": len(noisy)}


def measure(tree: Path, venv: Path, runs: int, work: Path) -> dict[str, Any]:
    data, port = work / "data", free_port()
    base, log = f"http://127.0.0.1:{port}", work / "make-run.log"
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "80"}
    env = {k: v for k, v in env.items() if not k.startswith("MMRAG_")}
    make = ["make", "-C", str(tree), "run", f"DATA={data}", f"PORT={port}", f"VENV={venv}"]
    make += ["-o", f"{venv}/.installed"]  # never reinstall the shared virtualenv
    python = str(venv / "bin" / "python")
    figures: dict[str, Any] = {"tree": str(tree)}
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(make, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        try:
            healthy = wait_for(f"{base}/healthz", start + 900, proc)
            figures["seconds_to_healthz"] = round(healthy - start, 1)
            body = {"collection": "sample", "query": {"text": QUERY}, "k": 5}
            httpx.post(f"{base}/v1/search", json=body, timeout=300).raise_for_status()
            figures["first_search_after_healthz_s"] = round(time.monotonic() - healthy, 2)
            figures["spaces"] = spaces_settled(base, time.monotonic() + 300)
            figures["seconds_to_spaces_loaded"] = round(time.monotonic() - start, 1)
            time.sleep(3)  # let late lines land (the banner, the spaces' lines)
            figures.update(log_figures(log))  # before this script's polling adds access lines
            indexed = sample_indexed(base, time.monotonic() + 900)
            figures["seconds_to_sample_indexed"] = round(indexed - start, 1)
            with_server = [cli_search(tree, python, data, env) for _ in range(runs)]
            figures["cli_search_with_server_s"] = [round(t, 2) for t in with_server]
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=90)
    alone = [cli_search(tree, python, data, env) for _ in range(runs)]
    figures["cli_search_without_server_s"] = [round(t, 2) for t in alone]
    figures["load_average"] = os.getloadavg()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--tree", type=Path, default=root, help="Source tree to run.")
    parser.add_argument("--venv", type=Path, default=root / ".venv", help="Its virtualenv.")
    parser.add_argument("--runs", type=int, default=3, help="CLI searches of each kind.")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument("--keep", type=Path, help="Work here (log, data dir) and keep it.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        figures = measure(args.tree.resolve(), args.venv.resolve(), args.runs, work)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
