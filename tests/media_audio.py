"""Audio for tests, made in the test: WAV bytes of tones, silence or noise."""

from __future__ import annotations

import io
import wave

import numpy as np


def wav_bytes(seconds: float = 1.0, rate: int = 16_000, freq: float = 440.0) -> bytes:
    """Return a mono 16-bit WAV of a sine tone."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()
