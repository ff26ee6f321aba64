"""Channels: one ranking each (bm25, text, image, audio), all filtered inside the index."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from index.bm25.base import BM25Index
from index.spaces.base import Space
from index.spaces.query_batcher import QueryBatcher
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


@dataclass
class PendingSpace:
    """A space channel whose query parts are being encoded (by the space's encoder loop)."""

    name: str
    parts: list[Future[NDArray[np.float32]]]
    started: float


def start_space(name: str, space: Space, encoder: QueryBatcher, query: Query) -> PendingSpace:
    """Queue what the query holds that ``space`` accepts for encoding; return at once."""
    started = time.perf_counter()
    parts: list[Future[NDArray[np.float32]]] = []
    if query.text and "text" in space.inputs:
        parts.append(encoder.text(query.text))
    if query.image is not None and "image" in space.inputs:
        parts.append(encoder.image(query.image))
    if query.audio is not None and "audio" in space.inputs:
        parts.append(encoder.audio(query.audio.waveform, query.audio.sample_rate))
    if not parts:
        raise NotApplicable(f"the {name} space encodes none of the query's parts")
    return PendingSpace(name, parts, started)


def finish_space(pending: PendingSpace, store: VectorStore, query: Query, depth: int) -> ChannelRun:
    """Average the encoded parts into one unit vector and search the space with it."""
    vector = np.mean(np.stack([part.result() for part in pending.parts]), axis=0)
    vector /= max(float(np.linalg.norm(vector)), 1e-12)
    encoded = time.perf_counter()
    ENCODE_SECONDS.labels(pending.name, "query").observe(encoded - pending.started)
    try:
        hits = store.search(pending.name, vector.astype(np.float32), depth, query.where)
    except UnknownSpace:  # nothing was ever embedded in this space: no hits, not an error
        hits = []
    return ChannelRun(
        [ChannelHit(h.segment_id, h.score) for h in hits],
        encode_s=encoded - pending.started,
        lookup_s=time.perf_counter() - encoded,
    )
