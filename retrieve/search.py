"""Query -> ranked, hydrated hits: channels (spaces encode concurrently), fusion, rerank,
hydration."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from index.bm25.base import BM25Index
from index.filters import Filter
from index.spaces.base import Space
from index.spaces.query_batcher import QueryBatcher
from index.stores.base import VectorStore
from index.stores.checks import UnknownSpace
from mmrag.catalog.db import Catalog
from mmrag.catalog.documents import segments_by_id
from mmrag.domain import Hit
from mmrag.errors import MmragError, from_engine
from mmrag.settings import Settings
from retrieve.channels import (
    ChannelHit,
    ChannelRun,
    NotApplicable,
    PendingSpace,
    finish_space,
    run_bm25,
    start_space,
)
from retrieve.fusion import Fused, fuse
from retrieve.query import Query
from retrieve.rerank import Reranker, RerankerUnavailable
from retrieve.spans import merge_into

log = logging.getLogger(__name__)


class Spaces(Protocol):
    def get(self, name: str) -> Space: ...

    def peek(self, name: str) -> object | None: ...

    def enabled(self) -> list[str]: ...

    def inputs(self, name: str) -> frozenset[str]: ...


class Sources(Protocol):
    """What channels read (``index.indexes.Indexes``); each opens on first use."""

    @property
    def bm25(self) -> BM25Index: ...

    @property
    def vectors(self) -> VectorStore: ...

    @property
    def spaces(self) -> Spaces: ...


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    degraded: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds


@dataclass
class _Outcome:
    """The channels' rankings so far, and what was left out (degraded) or broke."""

    runs: dict[str, ChannelRun] = field(default_factory=dict)
    degraded: list[str] = field(default_factory=list)
    broken: list[MmragError] = field(default_factory=list)  # failed (a disabled space is not)

    @contextmanager
    def channel(self, name: str) -> Iterator[None]:
        """Record a channel's failure instead of raising (a bad request still raises)."""
        try:
            yield
        except NotApplicable:
            return
        except MmragError as exc:
            if exc.status < 500 and exc.code != "space_disabled":
                raise
            self.degraded.append(f"{name}: {exc.message}")
            if exc.code != "space_disabled":
                self.broken.append(exc)
        except Exception as exc:  # a channel that breaks costs its ranking, not the search
            log.warning("channel %s failed", name, exc_info=True)
            self.degraded.append(f"{name}: {type(exc).__name__}: {exc}")
            self.broken.append(from_engine(f"the {name} channel", exc))


@dataclass
class Retriever:
    """Runs a :class:`Query` over every active channel and fuses the rankings.

    Channels run without a thread pool: each space's query is queued on that space's encoder
    loop (:class:`QueryBatcher`, which batches concurrent searches), BM25 runs meanwhile in
    the caller's thread, then each space's lookup runs as its vector arrives. Measured
    against a 4-thread fan-out in bench/search.py: the lookups are short and single-threaded
    FAISS/tantivy calls, so a pool only adds hand-offs and oversubscribes the cores.
    """

    catalog: Catalog
    sources: Sources
    # False in one-shot processes (the CLI): a space with no vectors in the queried
    # collections is skipped unloaded, so its model's seconds are not spent for nothing.
    # A server loads it anyway, once, so that a disabled space is reported on every search.
    load_empty_spaces: bool = True
    batch_window_s: float = 0.001  # how long an encoder loop waits for more queries
    batch_max: int = 16
    torch_threads: int = 0  # of each encoder loop (0: torch's default, every core)
    # The optional cross-encoder; by default the one ``rerank_model`` names in the settings
    # the sources were opened with (``index.indexes.Indexes.settings``); unset: no reranking.
    reranker: Reranker | None = None
    _encoders: dict[str, QueryBatcher] = field(default_factory=dict, repr=False)
    _encoders_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(
        cls, catalog: Catalog, sources: Sources, settings: Settings, load_empty_spaces: bool = True
    ) -> Retriever:
        """Return a retriever with the settings' query batching and encoder threads."""
        return cls(
            catalog,
            sources,
            batch_window_s=settings.query_batch_window_ms / 1000,
            batch_max=settings.query_batch_max,
            torch_threads=settings.query_torch_threads,
            load_empty_spaces=load_empty_spaces,
        )

    def __post_init__(self) -> None:
        settings = getattr(self.sources, "settings", None)
        if self.reranker is None and isinstance(settings, Settings):
            self.reranker = Reranker(settings)

    def search(self, query: Query) -> SearchResult:
        """Return the top ``query.k`` fused hits and the reasons any channel was left out."""
        # Deep enough per channel for fusion, deeper when hits collapse into documents.
        depth = min(max(query.k * (5 if query.group_by_document else 2), 50), 1000)
        started = time.perf_counter()
        outcome = _Outcome()
        timings = {"load": 0.0}
        pending: dict[str, PendingSpace] = {}
        for name in query.active():
            if name != "bm25":
                with outcome.channel(name):
                    pending[name] = self._start_space(name, query, timings)
        if "bm25" in query.active():  # runs while the spaces encode
            with outcome.channel("bm25"):
                outcome.runs["bm25"] = run_bm25(self.sources.bm25, query, depth)
        for name, waiting in pending.items():
            with outcome.channel(name):
                outcome.runs[name] = finish_space(waiting, self.sources.vectors, query, depth)
        if outcome.broken and not outcome.runs:
            # Nothing answered: an empty 200 would read as "no hits"; say what failed
            # (507 for a full disk, 503 for an outage).
            raise outcome.broken[0]
        channels_s = time.perf_counter() - started - timings["load"]
        # Spaces encode concurrently: the slowest bounds encoding, the rest is lookup.
        encode_s = max((run.encode_s for run in outcome.runs.values()), default=0.0)
        timings.update(encode=encode_s, lookup=max(channels_s - encode_s, 0.0))
        if not timings["load"]:
            del timings["load"]
        runs = outcome.runs
        hits = self._fuse(
            query, {name: run.hits for name, run in runs.items()}, timings, outcome.degraded
        )
        return SearchResult(hits=hits, degraded=outcome.degraded, timings=timings)

    def warm(self) -> None:
        """Load every enabled space and run one query through its encoder loop, so the first
        search pays neither the model load nor the first forward pass (torch's lazy set-up)."""
        for name in self.sources.spaces.enabled():
            space = self.sources.spaces.get(name)
            if "text" in space.inputs:
                self._encoder(name, space).text("warm up").result()

    def close(self) -> None:
        """Stop the encoder loops (queries already queued are answered first)."""
        with self._encoders_lock:
            encoders, self._encoders = list(self._encoders.values()), {}
        for encoder in encoders:
            encoder.close()

    def _start_space(self, name: str, query: Query, timings: dict[str, float]) -> PendingSpace:
        """Queue the query on space ``name``'s encoder; a model still loading is waited for
        and booked as the ``load`` phase, not as encoding."""
        self._check_worth_loading(name, query)
        spaces = self.sources.spaces
        loading = spaces.peek(name) is None
        before = time.perf_counter()
        space = spaces.get(name)
        if loading:
            timings["load"] += time.perf_counter() - before
        return start_space(name, space, self._encoder(name, space), query)

    def _encoder(self, name: str, space: Space) -> QueryBatcher:
        with self._encoders_lock:
            encoder = self._encoders.get(name)
            if encoder is None or encoder.space is not space:
                encoder = QueryBatcher(
                    space, self.batch_window_s, self.batch_max, self.torch_threads
                )
                self._encoders[name] = encoder
            return encoder

    def _check_worth_loading(self, name: str, query: Query) -> None:
        """Raise NotApplicable when space ``name`` could add nothing, before its model loads.

        Loading a model costs seconds: an image query has no use for a space that takes
        no images, and (unless ``load_empty_spaces``) no query for a space with no vectors
        in the queried collections.
        """
        parts = {"text": bool(query.text), "image": query.image is not None}
        parts["audio"] = query.audio is not None
        if not any(parts[kind] for kind in self.sources.spaces.inputs(name)):
            raise NotApplicable(f"the {name} space encodes none of the query's parts")
        if self.load_empty_spaces:
            return
        try:
            stored = self.sources.vectors.count(name, Filter(collections=query.collections))
        except UnknownSpace:  # nothing was ever embedded in this space
            stored = 0
        if stored == 0:
            raise NotApplicable(f"the {name} space holds no vectors in these collections")

    def _fuse(
        self,
        query: Query,
        rankings: Mapping[str, Sequence[ChannelHit]],
        timings: dict[str, float],
        degraded: list[str],
    ) -> list[Hit]:
        started = time.perf_counter()
        fused = fuse(
            query.fusion,
            {name: [(h.segment_id, h.score) for h in hits] for name, hits in rankings.items()},
            weights=query.weights,
            rrf_k=query.rrf_k,
        )
        scores = {name: {h.segment_id: h.score for h in hits} for name, hits in rankings.items()}
        fused_at = time.perf_counter()
        timings["fuse"] = fused_at - started
        if self.reranker is not None and self.reranker.enabled and query.rerank and query.text:
            try:
                fused, scores["rerank"] = self._rerank(query.text, fused, self.reranker)
            except RerankerUnavailable as exc:
                degraded.append(f"rerank: {exc.message}")
            timings["rerank"] = time.perf_counter() - fused_at
            fused_at = time.perf_counter()
        hits: list[Hit] = []
        seen_documents: set[str] = set()
        # Hydrate in slices, best first: usually only the first slice is ever read.
        size = query.k * (4 if query.group_by_document else 2)
        for offset in range(0, len(fused), size):
            window = fused[offset : offset + size]
            with self.catalog.session() as session:
                segments = segments_by_id(session, [item for item, _, _ in window])
            for item, score, ranks in window:
                segment = segments.get(item)
                if segment is None:  # deleted meanwhile, or not yet indexed in the catalog
                    continue
                if query.group_by_document:
                    if segment.document_id in seen_documents:
                        continue
                    seen_documents.add(segment.document_id)
                elif merge_into(hits, segment, query.merge_span_s):
                    continue
                channel_scores = {name: scores[name][item] for name in ranks}
                hits.append(Hit(segment, score, dict(ranks), channel_scores))
                if len(hits) == query.k:
                    break
            if len(hits) == query.k:
                break
        timings["hydrate"] = time.perf_counter() - fused_at
        return hits

    def _rerank(
        self, text: str, fused: Fused, reranker: Reranker
    ) -> tuple[Fused, dict[str, float]]:
        """Reorder the text hits among the fused top N by the cross-encoder's scores.

        Hits without text (an image, a silent clip) keep their places; the text hits are
        reordered among the places they held. Each reranked hit gains a ``rerank`` rank.
        """
        top_n = reranker.settings.rerank_top_n
        head, tail = fused[:top_n], fused[top_n:]
        with self.catalog.session() as session:
            segments = segments_by_id(session, [item for item, _, _ in head])
        texts = [
            (item, segments[item].text)
            for item, _, _ in head
            if item in segments and segments[item].text.strip()
        ]
        order = reranker.order(text, texts)
        entries = {item: (score, ranks) for item, score, ranks in head}
        best_first = iter(order)
        reranked: Fused = []
        for rank, (item, score, ranks) in enumerate(head, start=1):
            if item not in segments or not segments[item].text.strip():
                reranked.append((item, score, ranks))
                continue
            chosen, _ = next(best_first)
            fused_score, chosen_ranks = entries[chosen]
            reranked.append((chosen, fused_score, {**chosen_ranks, "rerank": rank}))
        return reranked + tail, dict(order)
