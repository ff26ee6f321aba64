"""Channels: one ranking each (bm25, text, image, audio), all filtered inside the index."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from index.bm25.base import BM25Index
from index.spaces.base import Space
from index.stores.base import VectorStore
from index.stores.checks import UnknownSpace
from mmrag.metrics import ENCODE_SECONDS
from retrieve.query import Query


@dataclass(frozen=True)
class ChannelHit:
    segment_id: str
    score: float


@dataclass
class ChannelRun:
    """A channel's ranking and how long it spent encoding the query and looking up."""

    hits: list[ChannelHit]
    encode_s: float = 0.0
    lookup_s: float = 0.0


class NotApplicable(Exception):
    """The query holds nothing this channel can search with (e.g. no text for BM25)."""


def run_bm25(bm25: BM25Index, query: Query, depth: int) -> ChannelRun:
    if not query.text or not query.text.strip():
        raise NotApplicable("no query text")
    started = time.perf_counter()
    hits = bm25.search(query.text, depth, query.where)
    return ChannelRun(
        [ChannelHit(h.segment_id, h.score) for h in hits], lookup_s=time.perf_counter() - started
    )


def run_space(name: str, space: Space, store: VectorStore, query: Query, depth: int) -> ChannelRun:
    """Encode what the query holds that ``space`` accepts, average it, and search ``space``."""
    started = time.perf_counter()
    vectors = [encode(query) for kind, encode in _ENCODERS.items() if kind in space.inputs]
    found = [v for v in (enc(space) for enc in vectors) if v is not None]
    if not found:
        raise NotApplicable(f"the {name} space encodes none of the query's parts")
    vector = np.mean(np.stack(found), axis=0)
    vector /= max(float(np.linalg.norm(vector)), 1e-12)
    encoded = time.perf_counter()
    ENCODE_SECONDS.labels(name, "query").observe(encoded - started)
    try:
        hits = store.search(name, vector.astype(np.float32), depth, query.where)
    except UnknownSpace:  # nothing was ever embedded in this space: no hits, not an error
        hits = []
    return ChannelRun(
        [ChannelHit(h.segment_id, h.score) for h in hits],
        encode_s=encoded - started,
        lookup_s=time.perf_counter() - encoded,
    )


Encoding = Callable[[Space], NDArray[np.float32] | None]


def _text(query: Query) -> Encoding:
    return lambda space: space.encode_texts([query.text])[0] if query.text else None


def _image(query: Query) -> Encoding:
    return lambda space: space.encode_images([query.image])[0] if query.image else None


def _audio(query: Query) -> Encoding:
    clip = query.audio
    return lambda space: (
        space.encode_audio([clip.waveform], clip.sample_rate)[0] if clip is not None else None
    )


_ENCODERS: dict[str, Callable[[Query], Encoding]] = {
    "text": _text,
    "image": _image,
    "audio": _audio,
}
