"""Audio and video for tests, made in the test run: espeak-ng speech, PyAV-encoded files."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray

RATE = 16_000


def need_espeak() -> str:
    """Return the espeak-ng executable, or skip outside CI (where .ci/run installs it)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        reason = "espeak-ng is not installed (apt-get install espeak-ng; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it: its absence is a broken setup, not a skip
        pytest.skip(reason)
    return exe


def say(text: str, rate: int = RATE) -> NDArray[np.float32]:
    """Return ``text`` spoken by espeak-ng as mono float32 at ``rate`` Hz."""
    exe = need_espeak()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run([exe, "-s", "150", "-w", str(out), text], check=True, capture_output=True)
        with wave.open(str(out)) as wav:
            source_rate = wav.getframerate()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    samples = pcm.astype(np.float32) / 32768
    positions = np.arange(0, len(samples), source_rate / rate)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


@dataclass(frozen=True)
class Spoken:
    """A soundtrack and where each sentence in it starts and ends (seconds)."""

    samples: NDArray[np.float32]
    spans: list[tuple[float, float]]

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


def speech_track(sentences: list[str], gap_s: float = 1.5, lead_s: float = 1.0) -> Spoken:
    """Return ``sentences`` spoken one after another with silence between them."""
    parts: list[NDArray[np.float32]] = [np.zeros(int(lead_s * RATE), np.float32)]
    spans = []
    position = lead_s
    for sentence in sentences:
        voice = say(sentence)
        spans.append((position, position + len(voice) / RATE))
        parts += [voice, np.zeros(int(gap_s * RATE), np.float32)]
        position += len(voice) / RATE + gap_s
    return Spoken(np.concatenate(parts), spans)


def write_wav(path: Path, samples: NDArray[np.float32], rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def write_audio(path: Path, samples: NDArray[np.float32], codec: str, rate: int = RATE) -> Path:
    """Encode mono ``samples`` with ``codec`` (mp3, flac, libvorbis, aac...) into ``path``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"  # type: ignore[union-attr]
        _encode_audio(container, stream, samples, rate)
    return path


def write_video(
    path: Path,
    scenes: list[tuple[tuple[int, int, int], float]],
    *,
    fps: int = 10,
    size: tuple[int, int] = (160, 120),
    audio: NDArray[np.float32] | None = None,
) -> Path:
    """Encode ``scenes`` (RGB colour, seconds) as H.264 in MP4, with ``audio`` as AAC if given.

    Each scene is its colour with a little noise and a moving bar, so that frames inside a
    scene differ slightly (as real footage does) while cuts between scenes are sharp.
    """
    rng = np.random.default_rng(0)
    width, height = size
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"  # type: ignore[union-attr]
        sound = container.add_stream("aac", rate=RATE) if audio is not None else None
        index = 0
        for colour, seconds in scenes:
            for _ in range(round(seconds * fps)):
                image = np.empty((height, width, 3), np.uint8)
                image[:] = colour
                noise = rng.integers(-6, 7, image.shape)
                image = np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)
                bar = (index * 3) % width
                image[:, bar : bar + 4] = 255 - np.array(colour, np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = index
                frame.time_base = Fraction(1, fps)
                container.mux(video.encode(frame))  # type: ignore[union-attr]
                index += 1
        container.mux(video.encode(None))  # type: ignore[union-attr]
        if sound is not None and audio is not None:
            _encode_audio(container, sound, audio, RATE)
    return path


def _encode_audio(
    container: av.container.OutputContainer,
    stream: av.AudioStream,
    samples: NDArray[np.float32],
    rate: int,
) -> None:
    block = 1024
    pts = 0
    for start in range(0, len(samples), block):
        chunk = samples[start : start + block].reshape(1, -1).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = pts
        pts += chunk.shape[1]
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
