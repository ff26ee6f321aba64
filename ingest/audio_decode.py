"""Decode audio of any container/codec FFmpeg handles (PyAV) to mono float32 at a given rate."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
from numpy.typing import NDArray

from mmrag.errors import BadInput

MAX_CHANNELS = 64
MAX_SAMPLE_RATE = 384_000


@dataclass(frozen=True)
class Decoded:
    waveform: NDArray[np.float32]
    sample_rate: int


def decode_audio_bytes(data: bytes, *, rate: int, max_seconds: float) -> Decoded:
    """Return the first audio stream of ``data`` as mono float32 at ``rate`` Hz.

    Raises BadInput (``audio_invalid``) for data holding no decodable audio and
    (``audio_too_long``) past ``max_seconds``, checked while decoding, not after.
    """
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise BadInput("the data holds no audio stream", code="audio_invalid")
            stream = container.streams.audio[0]
            _check_format(stream.codec_context.sample_rate, stream.codec_context.channels)
            return _decode(container, stream, rate, max_seconds)
    except av.FFmpegError as exc:
        raise BadInput(f"not decodable audio: {exc}", code="audio_invalid") from exc


def _check_format(sample_rate: int | None, channels: int | None) -> None:
    if not sample_rate or not 0 < sample_rate <= MAX_SAMPLE_RATE:
        raise BadInput(f"implausible sample rate {sample_rate}", code="audio_invalid")
    if not channels or not 0 < channels <= MAX_CHANNELS:
        raise BadInput(f"implausible channel count {channels}", code="audio_invalid")


def _decode(
    container: av.container.InputContainer, stream: av.AudioStream, rate: int, max_seconds: float
) -> Decoded:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    limit = int(max_seconds * rate)
    chunks: list[NDArray[np.float32]] = []
    total = 0
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            total += len(chunk)
            if total > limit:
                raise BadInput(
                    f"audio is longer than the limit of {max_seconds:g} s", code="audio_too_long"
                )
            chunks.append(chunk)
    for out in resampler.resample(None):
        chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    if not chunks:
        raise BadInput("the audio stream holds no samples", code="audio_invalid")
    return Decoded(np.concatenate(chunks), rate)
