"""Which fusion a search uses: the request's, else its collection's (``mmrag tune``), else settings.

Each of method, weights and rrf_k is resolved on its own, first match wins:
request ``fusion.*`` -> the request's older ``channels`` / ``rrf_k`` fields -> the fusion stored
in the collection's settings -> the ``fusion_method`` / ``channel_weights`` / ``rrf_k``
settings. Stored weights name only the channels tune measured; the others keep the setting's
weight. A search over several collections uses a stored fusion only when they all store the
same one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from mmrag.settings import Settings

Weight = Annotated[float, Field(allow_inf_nan=False, le=1e6)]


class FusionIn(BaseModel):
    """The ``fusion`` part of a search request; an unset field falls back (module docstring)."""

    model_config = ConfigDict(extra="forbid")

    method: str | None = Field(
        default=None, max_length=40, description="rrf, minmax (convex min-max) or dbsf."
    )
    weights: dict[str, Weight] | None = Field(
        default=None, description="Weight per channel (bm25, text, image, audio); 0 = off."
    )
    rrf_k: int | None = Field(default=None, le=1_000_000, description="RRF constant (rrf only).")


@dataclass(frozen=True)
class FusionChoice:
    """A resolved fusion: method, weight per channel and the RRF constant."""

    method: str
    weights: dict[str, float] = field(default_factory=dict)
    rrf_k: int = 60


def resolve_fusion(
    settings: Settings,
    stored: Sequence[Mapping[str, Any] | None] = (),
    fusion: FusionIn | None = None,
    channels: Mapping[str, float] | None = None,
    rrf_k: int | None = None,
) -> FusionChoice:
    """Return the fusion a search uses; ``stored`` holds each queried collection's fusion."""
    saved = _shared(stored)
    fusion = fusion or FusionIn()
    weights = dict(settings.channel_weights) | dict(saved.get("weights", {}))
    return FusionChoice(
        method=_first(fusion.method, None, saved.get("method"), settings.fusion_method),
        weights=dict(_first(fusion.weights, channels, None, weights)),
        rrf_k=int(_first(fusion.rrf_k, rrf_k, saved.get("rrf_k"), settings.rrf_k)),
    )


def _shared(stored: Sequence[Mapping[str, Any] | None]) -> Mapping[str, Any]:
    """Return the fusion every collection stores, or {} when one stores none or they differ."""
    if not stored or any(s is None for s in stored):
        return {}
    first = stored[0]
    return first if first is not None and all(s == first for s in stored) else {}


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)
