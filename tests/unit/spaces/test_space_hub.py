"""A hub that cannot be reached: one probe per process, one short line per disabled space."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.spaces.hub import first_line

# Runs in a child: huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE once, at import.
LOAD_DEFAULT_SPACES = """
import json, logging
logging.basicConfig(level=logging.INFO)
from index.spaces.registry import SpaceRegistry
from mmrag.settings import Settings
registry = SpaceRegistry(Settings())
first, again = registry.status(), registry.status()
print(json.dumps({name: [first[name].reason, again[name].reason] for name in ("image", "audio")}))
"""


@pytest.fixture
def hub_server() -> Iterator[str]:
    """A loopback HTTP server that answers every request (stands in for a reachable hub)."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_probe_tells_an_answering_endpoint_from_a_closed_port(hub_server: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    code = f"from index.spaces.hub import probe; print(probe({hub_server!r}), probe({closed!r}))"
    done = run_child(code, {})
    assert done.stdout.split() == ["True", "False"], done.stderr


def run_child(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter without this test run's offline switches."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MMRAG_", "HF_"))}
    base.pop("TRANSFORMERS_OFFLINE", None)
    command = [sys.executable, "-c", code]
    return subprocess.run(command, env={**base, **env}, capture_output=True, text=True, timeout=120)


def load_defaults(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    paths = {"HF_HOME": str(tmp_path / "hf"), "MMRAG_DATA_DIR": str(tmp_path)}
    return run_child(LOAD_DEFAULT_SPACES, {**paths, **env})


def test_unreachable_hub_disables_hub_models_at_once_with_one_line(tmp_path: Path) -> None:
    # Before the probe, huggingface_hub retried each missing file 5 times (~23 s, 12 warnings).
    done = load_defaults(tmp_path, HF_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 0, done.stderr
    reasons = json.loads(done.stdout)
    image, audio = reasons["image"][0], reasons["audio"][0]
    assert "ViT-B-32 (laion2b_s34b_b79k) is not on this machine" in image
    assert "MMRAG_IMAGE_MODEL_PATH" in image and "MMRAG_AUDIO_MODEL_PATH" in audio
    for reason in (image, audio):
        assert "127.0.0.1 cannot be reached" in reason and "MMRAG_OFFLINE=1 skips" in reason
        assert "\n" not in reason and "http" not in reason and "internet" not in reason.lower()
    assert reasons["image"][1] == image  # remembered, not retried
    assert "Retry" not in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("space image disabled") == 1
    assert done.stderr.count("space audio disabled") == 1
    assert done.stderr.count("unreachable") == 1  # one probe for both spaces


def test_offline_setting_skips_the_hub_and_says_so(tmp_path: Path) -> None:
    done = load_defaults(tmp_path, MMRAG_OFFLINE="1", HF_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 0, done.stderr
    image = json.loads(done.stdout)["image"][0]
    assert "MMRAG_OFFLINE=1 forbids downloads: set MMRAG_IMAGE_MODEL_PATH" in image
    assert "unreachable" not in done.stderr  # no probe was made


def test_first_line_keeps_what_went_wrong_only() -> None:
    error = OSError("We couldn't connect.\nCheck your internet connection or see https://x")
    assert first_line(error) == "We couldn't connect"
    assert first_line(ValueError("")) == "ValueError"
    assert len(first_line(ValueError("x" * 500))) == 160
