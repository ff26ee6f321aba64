"""Checks every space must pass, shared by the per-space test modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from index.spaces.base import Space, Vectors


def assert_rows(vectors: Vectors, n: int, space: Space) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (n, space.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def assert_batching_invariant(space: Any, encode: Callable[[], Vectors], atol: float) -> None:
    """One call with batch size 1 gives the same rows as one big batch, within ``atol``."""
    original = space.batch_size
    try:
        space.batch_size = 1
        one_by_one = encode()
        space.batch_size = 64
        together = encode()
    finally:
        space.batch_size = original
    np.testing.assert_allclose(one_by_one, together, atol=atol)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.dot(a, b))
