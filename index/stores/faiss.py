"""Embedded vector store: FAISS indexes in memory, SQLite (WAL) as the shared truth.

Layout under ``root``: ``records.sqlite`` (records + change sequence, see
:mod:`index.stores.record_log`) and ``snapshots/`` (one crash-atomic FAISS file per
(space, collection) shard, named by the change seq it covers). ``mmrag reindex`` may
replace both by a rebuilt pair that ``CURRENT`` names (:mod:`index.stores.faiss_generation`):
a searcher then drops its shards and loads the new log's.

- Writers (worker processes) only write SQLite transactions; they never load an index.
- A searcher loads a space's shards on first use (newest snapshot + the tail of the
  change log, or a build from the records), then applies new changes at most every
  ``catchup_seconds`` before a search, so committed writes show up within that interval.
- Shards are per collection, so the collection filter costs nothing; other filters become
  a FAISS ID selector from a SQL query, and a small allowed set on an HNSW shard is
  searched exactly (HNSW recall drops when most of the graph is filtered out).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.filters import Filter
from index.stores.base import VectorHit, VectorRecord
from index.stores.checks import (
    UnknownSpace,
    check_k,
    check_space_dim,
    only_collections,
    unit_query,
    unit_rows,
)
from index.stores.faiss_shard import (
    IndexOptions,
    Matrix,
    Shard,
    index_ids,
    load_snapshot,
    shard_key,
    snapshots,
)
from index.stores.record_log import Ids, RecordLog
from index.threads import faiss_threads
from mmrag.settings import Settings

Key = tuple[str, str]  # (space, collection)
Scored = list[tuple[float, int]]
# What the record log (SQLite) raises when it is locked past its timeout, or full.
ENGINE_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError,)


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    space: str
    collection: str
    kind: str  # "flat" | "hnsw"
    vectors: int  # live vectors in the in-memory index
    tombstones: int
    seq: int  # last change applied


class FaissStore:
    """FAISS behind the :class:`~index.stores.base.VectorStore` protocol; one per process."""

    def __init__(
        self,
        root: Path,
        options: IndexOptions | None = None,
        *,
        catchup_seconds: float = 1.0,
        snapshot_every: int = 10_000,
        filter_exact_limit: int = 20_000,
        search_threads: int = 0,
    ) -> None:
        self.root = root
        self.options = options or IndexOptions()
        self.catchup_seconds = catchup_seconds
        self.snapshot_every = snapshot_every
        self.filter_exact_limit = filter_exact_limit
        self.search_threads = search_threads  # OpenMP threads per search (0: FAISS default)
        self._log = RecordLog(root)
        self._dims: dict[str, int] = {}
        self._shards: dict[Key, Shard] = {}
        self._loaded: set[str] = set()
        self._seq: int | None = None  # change seq applied to every loaded space
        self._synced_at = 0.0
        self._lock = threading.RLock()
        self._loaded_from = self._log.generation

    @classmethod
    def from_settings(cls, settings: Settings) -> FaissStore:
        options = IndexOptions(
            exact_threshold=settings.faiss_exact_threshold,
            hnsw_m=settings.faiss_hnsw_m,
            ef_search=settings.faiss_hnsw_ef_search,
            ef_construction=settings.faiss_hnsw_ef_construction,
            float16=settings.faiss_float16,
        )
        # Catch up on every search (one indexed SQLite read when nothing changed), so a search
        # right after a job finishes sees its documents.
        return cls(
            settings.index_dir / "faiss",
            options,
            catchup_seconds=0.0,
            search_threads=settings.faiss_search_threads,
        )

    # -- VectorStore ---------------------------------------------------------------------

    def ensure_space(self, space: str, dim: int) -> None:
        check_space_dim(space, None, dim)
        check_space_dim(space, self._log.declare_space(space, dim), dim)
        self._dims[space] = dim

    def upsert(self, space: str, records: Sequence[VectorRecord]) -> None:
        rows = unit_rows(space, self._dim(space), records)
        if len(rows):
            self._log.upsert(space, [r.payload for r in records], rows)
            self._sync_if_loaded()

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        if document_ids and self._log.delete_documents(document_ids):
            self._sync_if_loaded()

    def search(self, space: str, vector: Matrix, k: int, where: Filter) -> list[VectorHit]:
        check_k(k)
        with self._lock:
            self._follow()
            query = unit_query(space, self._dim(space), vector)
            self._load(space)
            if time.monotonic() - self._synced_at >= self.catchup_seconds:
                self._sync()
            scored: Scored = []
            with faiss_threads(self.search_threads):
                for collection in where.collections or self._collections(space):
                    scored += self._search_shard(space, collection, query, k, where)
        return self._hits(scored, k)

    def count(self, space: str, where: Filter | None = None) -> int:
        with self._lock:
            self._follow()
        self._dim(space)
        return self._log.count(space, where)

    def close(self) -> None:
        with self._lock:
            self.save_snapshots()
            self._shards.clear()
            self._loaded.clear()
            self._log.close()

    # -- extras --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Apply every committed change now instead of at the next catch-up."""
        with self._lock:
            self._sync()

    def save_snapshots(self) -> None:
        """Write a snapshot of every in-memory shard that changed since its last one."""
        with self._lock:
            self._follow()  # never save shards of a replaced log beside the new one
            for (space, collection), shard in self._shards.items():
                if shard.unsaved or shard.snapshot_seq < 0:
                    shard.save(self._snapshot_dir, shard_key(space, collection))

    def shard_info(self) -> list[ShardInfo]:
        """Describe the in-memory shards (for /readyz and tests)."""
        with self._lock:
            return [
                ShardInfo(s, c, "hnsw" if sh.hnsw else "flat", sh.live, len(sh.dead), sh.seq)
                for (s, c), sh in sorted(self._shards.items())
            ]

    # -- loading and catching up ---------------------------------------------------------

    @property
    def _snapshot_dir(self) -> Path:
        return self.root / self._log.generation.snapshots

    def _follow(self) -> None:
        """Drop everything loaded from a log that ``mmrag reindex`` replaced since."""
        self._log.follow()
        if self._loaded_from != self._log.generation:
            self._shards.clear()
            self._loaded.clear()
            self._dims.clear()
            self._seq = None
            self._loaded_from = self._log.generation

    def _dim(self, space: str) -> int:
        if space not in self._dims:
            dim = self._log.space_dim(space)
            if dim is None:
                raise UnknownSpace(space)
            self._dims[space] = dim
        return self._dims[space]

    def _collections(self, space: str) -> list[str]:
        return [c for (s, c) in self._shards if s == space]

    def _load(self, space: str) -> None:
        """Bring a space's shards into memory (snapshot + tail, or a build)."""
        if space in self._loaded:
            return
        start = self._log.last_seq()
        for collection in self._log.shards(space):
            shard = self._open_shard(space, collection, start)
            self._shards[(space, collection)] = shard
            start = min(start, shard.seq)
        self._seq = start if self._seq is None else min(self._seq, start)
        self._loaded.add(space)
        self._sync()

    def _open_shard(self, space: str, collection: str, last_seq: int) -> Shard:
        key = shard_key(space, collection)
        paths = snapshots(self._snapshot_dir, key)
        for index, path in enumerate(paths):
            loaded = load_snapshot(path)
            if loaded is None or loaded[1] > last_seq:
                continue
            for older in paths[index + 1 :]:  # left by a crash between save's rename and prune
                older.unlink(missing_ok=True)
            shard = Shard(loaded[0], loaded[1], set(), self.options)
            shard.snapshot_seq = shard.seq
            live = self._log.live_ids(space, collection)
            shard.remove(np.setdiff1d(index_ids(shard.index), live))
            return shard
        return self._build(space, collection)

    def _build(self, space: str, collection: str) -> Shard:
        rows = self._log.shard_rows(space, collection, self._dim(space))
        shard = Shard.build(self._dim(space), rows.seq, rows.ids, rows.vectors, self.options)
        if shard.hnsw:  # expensive to rebuild: keep it
            shard.save(self._snapshot_dir, shard_key(space, collection))
        return shard

    def _sync_if_loaded(self) -> None:
        with self._lock:
            if self._loaded:
                self._sync()

    def _sync(self) -> None:
        """Apply committed changes after ``self._seq`` to the loaded shards."""
        self._synced_at = time.monotonic()
        self._follow()
        if self._seq is None:
            return
        changes = self._log.changes_since(self._seq)
        if not changes:
            return
        pending: dict[Key, tuple[list[int], list[int]]] = {}
        for change in changes:
            if change.space not in self._loaded:
                continue
            key = (change.space, change.collection)
            if key not in self._shards:
                self._shards[key] = self._build(*key)
            if change.seq > self._shards[key].seq:
                adds, dels = pending.setdefault(key, ([], []))
                (adds if change.op == "add" else dels).append(change.rid)
        for key, (adds, dels) in pending.items():
            self._apply(key, set(adds), set(dels))
        self._seq = changes[-1].seq
        for key, shard in self._shards.items():
            shard.seq = max(shard.seq, self._seq)
            self._maintain(key, shard)

    def _apply(self, key: Key, adds: set[int], dels: set[int]) -> None:
        shard = self._shards[key]
        shard.remove(np.array(sorted(dels - adds), dtype=np.int64))
        wanted = np.array(sorted(adds - dels), dtype=np.int64)
        if len(wanted):
            shard.add(*self._log.vectors(wanted, self._dim(key[0])))
        shard.unsaved += len(adds) + len(dels)

    def _maintain(self, key: Key, shard: Shard) -> None:
        """Rebuild a shard that outgrew exact search or holds too many tombstones; snapshot."""
        if shard.needs_rebuild():
            self._shards[key] = self._build(*key)
        elif shard.unsaved >= self.snapshot_every:
            shard.save(self._snapshot_dir, shard_key(*key))

    # -- searching -----------------------------------------------------------------------

    def _search_shard(
        self, space: str, collection: str, query: Matrix, k: int, where: Filter
    ) -> Scored:
        shard = self._shards.get((space, collection))
        if shard is None or shard.live <= 0:
            return []
        allowed: Ids | None = None
        if not only_collections(where):
            scope = dataclasses.replace(where, collections=[collection])
            allowed = self._log.matching_ids(space, scope)
            if not len(allowed):
                return []
            if shard.hnsw and len(allowed) <= self.filter_exact_limit:
                return self._exact(space, allowed, query, k)
        scores, ids = shard.search(query, k, allowed)
        return list(zip(scores.tolist(), ids.tolist(), strict=True))

    def _exact(self, space: str, allowed: Ids, query: Matrix, k: int) -> Scored:
        ids, vectors = self._log.vectors(allowed, self._dim(space))
        scores = vectors @ query[0]
        top = np.argsort(-scores)[:k]
        return list(zip(scores[top].tolist(), ids[top].tolist(), strict=True))

    def _hits(self, scored: Scored, k: int) -> list[VectorHit]:
        scored.sort(key=lambda hit: -hit[0])
        names = self._log.segment_ids([rid for _, rid in scored[: 2 * k]])
        hits = [VectorHit(names[rid], score) for score, rid in scored if rid in names]
        return hits[:k]
