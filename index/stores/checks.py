"""Input checks every vector store applies the same way, so both backends fail alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from index.filters import Filter
from index.stores.base import VectorRecord
from mmrag.errors import BadInput, Conflict, NotFound


class UnknownSpace(NotFound):
    """A space was used before :meth:`VectorStore.ensure_space` declared it."""

    code = "unknown_space"

    def __init__(self, space: str) -> None:
        super().__init__(f"vector space {space!r} is not declared")


def check_space_dim(space: str, known: int | None, dim: int) -> None:
    """Raise when ``dim`` is not a positive size or contradicts the declared one."""
    if dim <= 0:
        raise BadInput(f"space {space!r}: dimension must be positive, got {dim}")
    if known is not None and known != dim:
        raise Conflict(
            f"space {space!r} is declared with dim {known}, not {dim}", code="dim_conflict"
        )


def check_k(k: int) -> None:
    if k <= 0:
        raise BadInput(f"k must be positive, got {k}", code="bad_k")


def unit_rows(space: str, dim: int, records: Sequence[VectorRecord]) -> NDArray[np.float32]:
    """Return the records' vectors as an L2-normalised ``(n, dim)`` float32 matrix."""
    if not records:
        return np.zeros((0, dim), dtype=np.float32)
    for record in records:
        if np.shape(record.vector) != (dim,):
            raise BadInput(
                f"space {space!r} expects vectors of dim {dim}, got shape "
                f"{np.shape(record.vector)} for segment {record.payload.segment_id!r}",
                code="dim_mismatch",
            )
    return _normalised(space, np.stack([r.vector for r in records]).astype(np.float32))


def unit_query(space: str, dim: int, vector: NDArray[np.float32]) -> NDArray[np.float32]:
    """Return the query as an L2-normalised ``(1, dim)`` float32 matrix."""
    matrix = np.asarray(vector, dtype=np.float32).reshape(1, -1)
    if matrix.shape[1] != dim or np.ndim(vector) != 1:
        raise BadInput(
            f"space {space!r} expects a query vector of dim {dim}, got shape {np.shape(vector)}",
            code="dim_mismatch",
        )
    return _normalised(space, matrix)


def _normalised(space: str, matrix: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if not np.all(np.isfinite(matrix)) or np.any(norms == 0):
        raise BadInput(f"space {space!r}: vectors must be finite and non-zero", code="bad_vector")
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def only_collections(where: Filter) -> bool:
    """Return whether ``where`` constrains nothing but the collection."""
    return not (
        where.document_ids
        or where.modalities
        or where.media_types
        or where.metadata_equals
        or where.metadata_ranges
        or where.created is not None
    )
