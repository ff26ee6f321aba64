"""The README's examples, run as pasted and in order against a live ``mmrag serve``.

Every ``sh`` and ``python`` block of README.md runs from a folder laid out like the repository
after ``make run`` (``data/`` with the generated ``data/sample/``), with ``localhost:8000``
pointed at the test's server and ``mmrag`` on the PATH as after ``source .venv/bin/activate``.
Blocks that need ``make`` or ``docker`` are left to ``.ci/run``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mmrag.settings import Settings
from tests.conftest import make_settings, settings_env
from tests.e2e.conftest import start_serve

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NOT_HERE = ("make ", "docker ")  # need the build tool or a container engine

# As after `source .venv/bin/activate`: `mmrag` is this interpreter's; curl fails on a 4xx/5xx
# (printing the error body) instead of printing it and exiting 0.
SH_PRELUDE = """set -euo pipefail
mmrag() { "$MMRAG_TEST_PYTHON" -m mmrag "$@"; }
curl() { command curl --silent --show-error --fail-with-body "$@"; echo; }
"""


def readme_blocks() -> list[tuple[str, str]]:
    """Return (language, code) of each runnable block of README.md, in order."""
    blocks = FENCE.findall((REPO / "README.md").read_text())
    runnable = [(lang, code) for lang, code in blocks if lang in ("sh", "python")]
    return [
        (lang, code) for lang, code in runnable if not _first_command(code).startswith(NOT_HERE)
    ]


def _first_command(code: str) -> str:
    lines = [line.strip() for line in code.splitlines()]
    return next((line for line in lines if line and not line.startswith("#")), "")


def run_block(lang: str, code: str, base: str, cwd: Path, env: dict[str, str]) -> str:
    code = code.replace("http://127.0.0.1:8000", base).replace("localhost:8000", base)
    command = ["bash", "-c", SH_PRELUDE + code] if lang == "sh" else [sys.executable, "-c", code]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"README block failed:\n{code}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def json_bodies(output: str) -> list[object]:
    """Return the JSON documents printed one per line (curl's bodies; CLI tables are skipped)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith(("{", "["))]


@pytest.fixture
def embedded_default(tmp_path: Path) -> Settings:
    """The embedded default's models (no CLIP/CLAP weights here), with the tests' quick clocks."""
    return make_settings(
        tmp_path / "data",
        image_model=Settings.model_fields["image_model"].default,
        audio_model=Settings.model_fields["audio_model"].default,
        allow_random_weights=False,
    )


@pytest.mark.slow
def test_readme_examples_run_as_pasted(embedded_default: Settings, tmp_path: Path) -> None:
    sample = subprocess.run(
        [sys.executable, str(REPO / "bench" / "corpus.py"), "--out", str(tmp_path / "data/sample")],
        capture_output=True,
        text=True,
    )
    assert sample.returncode == 0, sample.stderr
    env = {
        **settings_env(embedded_default),
        "MMRAG_TEST_PYTHON": sys.executable,
        "PYTHONPATH": str(REPO),
    }
    blocks = readme_blocks()
    assert [lang for lang, _ in blocks].count("python") == 1 and len(blocks) >= 4
    proc, base = start_serve(embedded_default)
    try:
        outputs = [run_block(lang, code, base, tmp_path, env) for lang, code in blocks]
        # The keys block ran last: from now on the service asks for a key (cached up to 2 s).
        assert_eventually_refused(f"{base}/v1/collections")
    finally:  # Ctrl-C, as the README says: serve stops its worker too
        proc.stop()
    bodies = [body for output in outputs for body in json_bodies(output)]
    objects = [body for body in bodies if isinstance(body, dict)]
    searches = [body for body in objects if "hits" in body]
    assert searches and searches[0]["hits"], "the README's text search found nothing"
    assert {hit["collection"] for hit in searches[0]["hits"]} == {"docs"}
    answers = [body for body in objects if "answer" in body]
    assert answers and answers[0]["citations"], answers
    listed = [body for body in bodies if isinstance(body, list)]
    assert listed and {"docs", "notes"} <= {row["name"] for row in listed[-1]}


def assert_eventually_refused(url: str) -> None:
    deadline = time.monotonic() + 10
    while httpx.get(url).status_code != 401:
        assert time.monotonic() < deadline, "a key exists but the service is still open"
        time.sleep(0.5)
