"""What ``mmrag search`` prints on an 80-column terminal: one row per hit, short degraded lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mmrag.settings import Settings
from tests.conftest import settings_env
from tests.media import write_pdf

LONG = (
    "The heron stands in the reeds at dawn, waiting for a fish to pass below the surface "
    "of the pond, and strikes faster than the eye can follow before the water settles "
    "again around its legs like glass closing over the lastword"
)


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmrag", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def search_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """A data dir holding a PDF (text + page image vectors) and a short text file; the
    environment a later search runs in: 80 columns, and the image model's weights gone."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_pdf(corpus / "heron.pdf", [LONG])
    (corpus / "kingfisher.txt").write_text("the kingfisher dives for a heron's fish")
    ingested = run_cli(settings_env(settings), "ingest", str(corpus), "--collection", "birds")
    assert ingested.returncode == 0, ingested.stderr
    env = settings_env(settings)
    # The page renders were embedded with the tiny CLIP; now the image space cannot load.
    env.update(COLUMNS="80", MMRAG_IMAGE_MODEL="ViT-B-32", MMRAG_ALLOW_RANDOM_WEIGHTS="false")
    return env


def test_search_fits_80_columns_with_one_short_line_per_disabled_space(
    search_env: dict[str, str],
) -> None:
    found = run_cli(search_env, "search", "heron reeds fish", "-c", "birds")
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), found.stdout
    rows = [line for line in lines if line.split()[:1] in (["1"], ["2"], ["3"])]
    assert len(rows) >= 2, found.stdout  # each hit is one row, however long its text
    heron = next(row for row in rows if "The heron stands" in row)
    assert heron.rstrip().endswith("…") and "lastword" not in found.stdout
    assert "page=1" in heron

    degraded = [line for line in found.stderr.splitlines() if line.startswith("degraded")]
    assert len(degraded) == 1 and degraded[0].startswith("degraded image:"), found.stderr
    assert len(degraded[0]) <= 80
    assert "Loading weights" not in found.stderr and "Traceback" not in found.stderr
    assert found.stderr.count("ViT-B-32") <= 1  # the registry's log line is not repeated
    assert "--verbose" in found.stderr


def test_search_full_and_verbose_show_everything(search_env: dict[str, str]) -> None:
    found = run_cli(search_env, "search", "heron reeds", "-c", "birds", "--full", "--verbose")
    assert found.returncode == 0, found.stderr
    assert "lastword" in found.stdout
    assert all(len(line) <= 80 for line in found.stdout.splitlines()), found.stdout
    whole = " ".join(found.stderr.split())
    assert "degraded image:" in whole and "MMRAG_IMAGE_MODEL_PATH" in whole
