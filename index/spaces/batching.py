"""Batched encoding shared by the spaces: split inputs, run a model, stack L2-normalised rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import torch

from index.spaces.base import Vectors

T = TypeVar("T")


def normalise_rows(matrix: torch.Tensor | np.ndarray, dim: int) -> Vectors:
    """Return ``matrix`` as float32 (n, dim) with unit-length rows (zero rows stay zero)."""
    array = matrix.detach().float().cpu().numpy() if isinstance(matrix, torch.Tensor) else matrix
    array = np.asarray(array, dtype=np.float32).reshape(-1, dim)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.ascontiguousarray(array / np.maximum(norms, 1e-12), dtype=np.float32)


def encode_in_batches(
    items: Sequence[T],
    batch_size: int,
    dim: int,
    encode_batch: Callable[[Sequence[T]], torch.Tensor | np.ndarray],
) -> Vectors:
    """Return the normalised rows of ``encode_batch`` over ``items``, ``batch_size`` at a time."""
    if not items:
        return np.zeros((0, dim), dtype=np.float32)
    parts = [
        normalise_rows(encode_batch(items[start : start + batch_size]), dim)
        for start in range(0, len(items), batch_size)
    ]
    return np.concatenate(parts, axis=0)


def resolve_device(requested: str) -> str:
    """Return the torch device for a ``device`` setting: ``auto`` picks CUDA when present."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested
