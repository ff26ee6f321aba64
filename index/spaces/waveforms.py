"""Waveforms for audio models: mono float32, resampled, cut into windows, windows pooled."""

from __future__ import annotations

from math import gcd

import numpy as np
from numpy.typing import NDArray
from scipy.signal import resample_poly  # scipy comes with sentence-transformers

from index.spaces.base import UnsupportedQuery, Vectors
from index.spaces.batching import normalise_rows


def to_rate(waveform: NDArray[np.float32], rate: int, target: int) -> NDArray[np.float32]:
    """Return ``waveform`` (mono) resampled from ``rate`` to ``target`` Hz, anti-aliased."""
    if rate <= 0:
        raise UnsupportedQuery(f"sample rate must be positive, got {rate}")
    samples = np.asarray(waveform, dtype=np.float32)
    if samples.ndim != 1:
        raise UnsupportedQuery(f"expected a mono waveform (1-D), got shape {samples.shape}")
    if samples.size == 0:
        raise UnsupportedQuery("empty waveform")
    if not np.all(np.isfinite(samples)):
        raise UnsupportedQuery("waveform holds NaN or infinite samples")
    if rate == target:
        return samples
    common = gcd(rate, target)
    return resample_poly(samples, target // common, rate // common).astype(np.float32)


def windows(waveform: NDArray[np.float32], length: int) -> list[NDArray[np.float32]]:
    """Return consecutive ``length``-sample windows; the last may be shorter (the model pads it)."""
    count = max(1, -(-waveform.size // length))
    return [waveform[i * length : (i + 1) * length] for i in range(count)]


def pool_windows(rows: Vectors, clips: list[list[NDArray[np.float32]]], dim: int) -> Vectors:
    """Return one row per clip: its windows' rows averaged, weighted by window length."""
    pooled = np.zeros((len(clips), dim), dtype=np.float32)
    start = 0
    for i, clip in enumerate(clips):
        weights = np.array([window.size for window in clip], dtype=np.float32)
        pooled[i] = weights @ rows[start : start + len(clip)] / weights.sum()
        start += len(clip)
    return normalise_rows(pooled, dim)
