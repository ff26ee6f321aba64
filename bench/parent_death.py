"""How fast a child ends after its parent is SIGKILLed: prctl(PR_SET_PDEATHSIG) vs a watcher.

A local worker (``serve``/``ingest``) uses the kernel's signal; pool processes use the
watcher thread, which polls once a second (mmrag/parent_death.py). Prints the median time
from the parent's SIGKILL to the child's end for each, and their ratio.

    .venv/bin/python bench/parent_death.py --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import signal, sys, time
from mmrag.parent_death import exit_with_parent
exit_with_parent(int(sys.argv[1]), signal.SIGTERM, kernel=sys.argv[2] == "kernel")
print("armed", flush=True)
time.sleep(600)
"""
PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid()), sys.argv[2]],
                         stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def seconds_to_end(how: str) -> float:
    """Start parent -> child, SIGKILL the parent, return how long the child lives on."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, how], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    began = time.monotonic()
    parent.kill()
    parent.wait()
    while alive(child):
        time.sleep(0.002)
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    medians = {how: statistics.median(seconds_to_end(how) for _ in range(runs))
               for how in ("kernel", "watcher")}  # fmt: skip
    for how, median in medians.items():
        print(f"{how:8s} median {median * 1000:8.1f} ms from parent SIGKILL to child end")
    print(f"watcher / kernel: {medians['watcher'] / medians['kernel']:.0f}x")


if __name__ == "__main__":
    main()
