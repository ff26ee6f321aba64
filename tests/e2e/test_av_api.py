"""Audio and video end to end: upload through the API, a real worker on the embedded broker,
search by spoken words, sound and pictures, time-coded links, Range requests, CLI bulk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from mmrag.settings import Settings
from tests.conftest import make_settings, settings_env
from tests.e2e.conftest import WorkerFactory, upload, wait_job
from tests.media import png_bytes, write_pdf
from tests.media_av import RATE, speech_track, write_video, write_wav

SPEECH = ["Please remember to water the tomato plants.", "The library closes early on Friday."]
SCENES = [((150, 20, 20), 3.0), ((120, 240, 120), 3.0), ((20, 20, 110), 3.0)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path / "data", audio_window_seconds=4.0, audio_hop_seconds=2.0, max_media_seconds=60.0
    )


def search(client: TestClient, text: str, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/search", json={"collection": "av", "query": {"text": text}, **body})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def time_of(hit: dict[str, Any]) -> tuple[float, float]:
    return hit["locator"]["start_s"], hit["locator"]["end_s"]


def test_audio_and_video_through_the_api(
    settings: Settings, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    talk = speech_track(SPEECH, gap_s=2.0)
    voice = speech_track(["Our library opens again on Monday morning."], lead_s=3.5)
    track = np.concatenate([voice.samples, np.zeros(RATE * 9, np.float32)])[: RATE * 9]
    files = [
        ("talk.wav", write_wav(tmp_path / "talk.wav", talk.samples).read_bytes()),
        ("clip.mp4", write_video(tmp_path / "clip.mp4", SCENES, audio=track).read_bytes()),
        (
            "quiet.wav",
            write_wav(tmp_path / "quiet.wav", np.zeros(RATE * 3, np.float32)).read_bytes(),
        ),
        ("notes.mp4", b"Shopping list: tomato seeds, watering can, twine.\n"),
        (
            "long.wav",
            write_wav(tmp_path / "long.wav", np.zeros(RATE * 61, np.float32)).read_bytes(),
        ),
        ("cut.mp4", (tmp_path / "clip.mp4").read_bytes()[:20_000]),
    ]
    start_worker()
    with TestClient(create_app(settings)) as client:
        client.post("/v1/collections", json={"name": "av"})
        accepted = upload(client, "av", files).json()
        ids = {d["filename"]: d["id"] for d in accepted["documents"]}
        job = wait_job(client, accepted["job_id"], timeout=180)
        reasons = {e["filename"]: e["reason"] for e in job["errors"]}
        assert (job["done"], job["failed"]) == (4, 2), job
        assert "MMRAG_MAX_MEDIA_SECONDS" in reasons["long.wav"]
        assert "not a decodable media file" in reasons["cut.mp4"]
        assert job["kinds"]["audio"] == {"indexed": 2, "failed": 1}  # long.wav, by its kind
        assert job["kinds"]["video"]["indexed"] == 1 and job["kinds"]["text"]["indexed"] == 1

        # Spoken words are found by BM25 at the moment they are said, with a #t= link.
        hits = search(client, "tomato plants", channels={"bm25": 1})["hits"]
        top = hits[0]
        assert top["document_id"] == ids["talk.wav"] and top["modality"] == "text"
        start, end = time_of(top)
        assert start <= talk.spans[0][1] + 1 and talk.spans[0][0] - 1 <= end < talk.spans[1][0]
        assert top["media_url"].endswith(f"#t={start:g},{end:g}")
        assert ids["notes.mp4"] in {h["document_id"] for h in hits}  # text inside a ".mp4"

        # The video's soundtrack is on the video's clock.
        video_hits = search(client, "library Monday", channels={"bm25": 1})["hits"]
        spoken = next(h for h in video_hits if h["document_id"] == ids["clip.mp4"])
        assert spoken["locator"]["start_s"] <= voice.spans[0][1] + 1
        assert spoken["locator"]["end_s"] >= voice.spans[0][0] - 1

        # Sound windows (CLAP) and keyframes (CLIP) come back time-coded too.
        sound = search(client, "water running", channels={"audio": 1}, k=50, merge_span_s=0)
        windows = [h for h in sound["hits"] if h["modality"] == "audio"]
        assert {h["document_id"] for h in windows} == {ids["talk.wav"], ids["clip.mp4"]}
        assert all("#t=" in h["media_url"] for h in windows)  # quiet.wav: no windows at all
        frames = search(
            client, "a green field", channels={"image": 1}, k=20, merge_span_s=0,
            filters={"modalities": ["video_frame"]},
        )["hits"]  # fmt: skip
        assert frames and all(h["document_id"] == ids["clip.mp4"] for h in frames)
        assert all(h["preview_url"] and "#t=" in h["media_url"] for h in frames)
        starts = sorted(h["locator"]["start_s"] for h in frames)
        assert any(abs(s - 3.0) <= 0.1 for s in starts) and any(abs(s - 6.0) <= 0.1 for s in starts)

        # Nearby hits of one recording merge into one span when asked.
        merged = search(client, "water running", channels={"audio": 1}, k=50, merge_span_s=5)
        assert len(merged["hits"]) < len(windows) and any(h["merged"] for h in merged["hits"])

        # The original streams with Range requests so players can seek.
        document = client.get(f"/v1/documents/{ids['clip.mp4']}").json()
        assert document["media_type"] == "video/mp4"
        assert document["metadata"]["video"]["codec"] == "h264"
        media = client.get(spoken["media_url"].split("#")[0], headers={"Range": "bytes=0-99"})
        assert media.status_code == 206 and len(media.content) == 100
        assert media.headers["content-type"] == "video/mp4"
        assert media.headers["content-range"].startswith("bytes 0-99/")
        quiet = client.get(f"/v1/documents/{ids['quiet.wav']}").json()
        assert quiet["status"] == "indexed" and quiet["segments"] == []


def test_cli_bulk_ingest_of_mixed_media_counts_each_kind(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = tmp_path / "mixed"
    corpus.mkdir()
    write_pdf(corpus / "manual.pdf", ["the pump needs priming"])
    (corpus / "photo.png").write_bytes(png_bytes())
    write_wav(corpus / "memo.wav", speech_track(SPEECH[:1]).samples)
    write_video(corpus / "clip.mp4", SCENES[:2])
    (corpus / "broken.mp3").write_bytes(b"ID3\x04" + b"\0" * 200)
    result = subprocess.run(
        [sys.executable, "-m", "mmrag", "ingest", str(corpus), "--collection", "mixed"],
        env=settings_env(settings), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "indexed 4, skipped 0 (already present), failed 1 of 5" in result.stderr
    for line in ("pdf: 1 indexed", "image: 1 indexed", "audio: 1 indexed", "video: 1 indexed"):
        assert line in result.stderr, result.stderr
    assert "broken.mp3" in result.stderr
