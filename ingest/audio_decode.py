"""Decode audio of any container/codec FFmpeg handles (PyAV) to mono float32 at a given rate.

Two ways in: :func:`decode_audio_bytes` for short clips held in memory (search queries), and
:func:`stream_audio` for files of any length, which yields fixed-size blocks so that a
two-hour recording never sits decoded in memory at once. Both put every time on the
container's clock (seconds from the container's start), so the audio track of a video lines
up with its frames.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Block:
    """``samples`` of mono audio at the stream's rate starting ``start_s`` into the file."""

    start_s: float
    samples: NDArray[np.float32]


@contextmanager
def open_media(source: Path | bytes) -> Iterator[av.container.InputContainer]:
    """Open ``source`` with PyAV; FFmpeg's refusal becomes :class:`BadInput` (``media_invalid``)."""
    try:
        container = av.open(
            io.BytesIO(source) if isinstance(source, bytes) else str(source), mode="r"
        )
    except av.FFmpegError as exc:
        raise BadInput(f"not a decodable media file: {exc}", code="media_invalid") from exc
    try:
        yield container
    finally:
        container.close()


def container_start(container: av.container.InputContainer) -> float:
    """Return the container's start time in seconds (streams' clocks are offset by it)."""
    return (container.start_time or 0) / av.time_base


def check_audio_format(stream: av.AudioStream) -> None:
    """Raise :class:`BadInput` (``audio_invalid``) for an absurd sample rate or channel count."""
    rate, channels = stream.codec_context.sample_rate, stream.codec_context.channels
    if not rate or not 0 < rate <= MAX_SAMPLE_RATE:
        raise BadInput(f"implausible sample rate {rate}", code="audio_invalid")
    if not channels or not 0 < channels <= MAX_CHANNELS:
        raise BadInput(f"implausible channel count {channels}", code="audio_invalid")


def decode_audio_bytes(data: bytes, *, rate: int, max_seconds: float) -> Decoded:
    """Return the first audio stream of ``data`` as mono float32 at ``rate`` Hz.

    Raises BadInput (``audio_invalid``) for data holding no decodable audio and
    (``audio_too_long``) past ``max_seconds``, checked while decoding, not after.
    """
    try:
        with open_media(data) as container:
            if not container.streams.audio:
                raise BadInput("the data holds no audio stream", code="audio_invalid")
            blocks = stream_audio(
                container, rate=rate, block_seconds=max_seconds, max_seconds=max_seconds
            )
            chunks = [block.samples for block in blocks]
    except BadInput as exc:
        if exc.code == "media_too_long":
            raise BadInput(
                f"audio is longer than the limit of {max_seconds:g} s", code="audio_too_long"
            ) from exc
        if exc.code == "media_invalid":
            raise BadInput(f"not decodable audio: {exc.message}", code="audio_invalid") from exc
        raise
    if not chunks:
        raise BadInput("the audio stream holds no samples", code="audio_invalid")
    return Decoded(np.concatenate(chunks), rate)


def stream_audio(
    container: av.container.InputContainer,
    *,
    rate: int,
    block_seconds: float,
    max_seconds: float,
) -> Iterator[Block]:
    """Yield the first audio stream of ``container`` as mono float32 blocks at ``rate`` Hz.

    Each block holds ``block_seconds`` of audio (the last one less); memory stays at about
    one block whatever the file's length. Times count samples from the stream's first
    frame, placed on the container clock. Raises :class:`BadInput`: ``audio_invalid``
    (absurd format, undecodable data) and ``media_too_long`` once more than ``max_seconds``
    have been decoded (a header's duration can lie, so this is checked while decoding).
    """
    stream = container.streams.audio[0]
    check_audio_format(stream)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    block_len = max(1, int(block_seconds * rate))
    limit = int(max_seconds * rate)
    pending: list[NDArray[np.float32]] = []
    pending_len = 0
    emitted = 0
    offset: float | None = None
    try:
        for frame in container.decode(stream):
            if offset is None:
                offset = max(0.0, (frame.time or 0.0) - container_start(container))
            for chunk in _resampled(resampler, frame):
                pending.append(chunk)
                pending_len += len(chunk)
                if emitted + pending_len > limit:
                    raise BadInput(
                        f"media is longer than the limit of {max_seconds:g} s",
                        code="media_too_long",
                    )
                while pending_len >= block_len:
                    block, pending = _split(pending, block_len)
                    pending_len -= block_len
                    yield Block(offset + emitted / rate, block)
                    emitted += block_len
        for chunk in _resampled(resampler, None):
            pending.append(chunk)
            pending_len += len(chunk)
    except av.FFmpegError as exc:
        raise BadInput(f"audio stream not decodable: {exc}", code="audio_invalid") from exc
    if pending_len:
        yield Block((offset or 0.0) + emitted / rate, np.concatenate(pending))


def read_span(path: Path, start_s: float, end_s: float, *, rate: int) -> Block:
    """Return the audio of ``path`` from about ``start_s`` to at least ``end_s`` (seconds).

    Seeks to the nearest point at or before ``start_s``, so the block may start a little
    early: its ``start_s`` says where. Memory holds only the span.
    """
    with open_media(path) as container:
        if not container.streams.audio:
            raise BadInput(f"{path.name} holds no audio stream", code="audio_invalid")
        stream = container.streams.audio[0]
        if start_s > 0 and stream.time_base:
            target = start_s + container_start(container)
            container.seek(int(target / stream.time_base), stream=stream, backward=True)
        chunks: list[NDArray[np.float32]] = []
        first: float | None = None
        span = end_s - start_s
        for block in stream_audio(container, rate=rate, block_seconds=span, max_seconds=1e9):
            first = block.start_s if first is None else first
            chunks.append(block.samples)
            if first + sum(map(len, chunks)) / rate >= end_s:
                break
    if first is None:
        return Block(start_s, np.zeros(0, dtype=np.float32))
    return Block(first, np.concatenate(chunks))


def _resampled(resampler: av.AudioResampler, frame: Any) -> Iterator[NDArray[np.float32]]:
    for out in resampler.resample(frame):
        yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)


def _split(
    chunks: list[NDArray[np.float32]], length: int
) -> tuple[NDArray[np.float32], list[NDArray[np.float32]]]:
    """Return the first ``length`` samples of ``chunks`` joined, and the rest as a list."""
    joined = np.concatenate(chunks)
    return joined[:length], [joined[length:]] if len(joined) > length else []
