"""One in-memory FAISS index per (space, collection): build, apply changes, search, snapshot.

Exact (``IndexFlatIP``) below ``exact_threshold`` live vectors, HNSW above; both inside an
``IndexIDMap2`` keyed by the record log's internal ids. HNSW cannot delete, so removed ids
become tombstones excluded at search time until they pass ``tombstone_ratio`` of the index
and the shard is rebuilt. Snapshots are written to a temporary file, fsynced and renamed,
so a crash leaves either the old snapshot or the new one, never a torn file.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

Ids = NDArray[np.int64]
Matrix = NDArray[np.float32]


@dataclass(frozen=True)
class IndexOptions:
    exact_threshold: int = 50_000
    hnsw_m: int = 32
    ef_search: int = 512
    ef_construction: int = 200
    float16: bool = False
    tombstone_ratio: float = 0.2


def new_index(dim: int, live: int, options: IndexOptions) -> faiss.IndexIDMap2:
    """Return an empty ID-mapped index suited to ``live`` vectors."""
    ip = faiss.METRIC_INNER_PRODUCT
    fp16 = faiss.ScalarQuantizer.QT_fp16
    base: faiss.Index
    if live < options.exact_threshold:
        base = faiss.IndexFlatIP(dim)
        if options.float16:
            base = faiss.IndexScalarQuantizer(dim, fp16, ip)
    else:
        base = faiss.IndexHNSWFlat(dim, options.hnsw_m, ip)
        if options.float16:
            base = faiss.IndexHNSWSQ(dim, fp16, options.hnsw_m, ip)  # type: ignore[arg-type]
        base.hnsw.efConstruction = options.ef_construction
        base.hnsw.efSearch = options.ef_search
    return faiss.IndexIDMap2(base)


def is_hnsw(index: faiss.IndexIDMap2) -> bool:
    return isinstance(faiss.downcast_index(index.index), faiss.IndexHNSW)


class Shard:
    """An index plus the last change ``seq`` it reflects and its tombstones."""

    def __init__(self, index: faiss.IndexIDMap2, seq: int, dead: set[int], options: IndexOptions):
        self.index = index
        self.seq = seq
        self.dead = dead
        self.options = options
        self.snapshot_seq = -1
        self.unsaved = 0  # changes applied since the last snapshot

    @classmethod
    def build(cls, dim: int, seq: int, ids: Ids, vectors: Matrix, options: IndexOptions) -> Shard:
        index = new_index(dim, len(ids), options)
        if len(ids):
            index.train(vectors)
            index.add_with_ids(vectors, ids)
        return cls(index, seq, set(), options)

    @property
    def hnsw(self) -> bool:
        return is_hnsw(self.index)

    @property
    def live(self) -> int:
        return int(self.index.ntotal) - len(self.dead)

    def add(self, ids: Ids, vectors: Matrix) -> None:
        if len(ids):
            if not self.index.is_trained:
                self.index.train(vectors)
            self.index.add_with_ids(vectors, ids)

    def remove(self, ids: Ids) -> None:
        if not len(ids):
            return
        if self.hnsw:
            self.dead.update(int(i) for i in ids)
        else:
            self.index.remove_ids(faiss.IDSelectorBatch(ids))

    def needs_rebuild(self) -> bool:
        """Whether the index kind no longer suits its size or tombstones have piled up."""
        if not self.hnsw:
            return self.live >= self.options.exact_threshold
        return len(self.dead) > self.options.tombstone_ratio * max(1, self.index.ntotal)

    def search(self, query: Matrix, k: int, allowed: Ids | None) -> tuple[Matrix, Ids]:
        """Return ``(scores, ids)`` of the best ``k``, restricted to ``allowed`` if given."""
        k = min(k, max(1, int(self.index.ntotal)))
        params, keep = self._params(allowed)
        scores, ids = self.index.search(query, k, params=params)
        del keep
        found = ids[0] >= 0
        return scores[0][found], ids[0][found]

    def _params(self, allowed: Ids | None) -> tuple[faiss.SearchParameters | None, list[object]]:
        """Search parameters and the selectors they point to (kept alive by the caller)."""
        selector: faiss.IDSelector | None = None
        keep: list[object] = []
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
        elif self.dead:
            excluded = faiss.IDSelectorBatch(np.fromiter(self.dead, dtype=np.int64))
            keep.append(excluded)
            selector = faiss.IDSelectorNot(excluded)
        keep.append(selector)
        return self._with(selector, allowed), keep

    def _with(
        self, selector: faiss.IDSelector | None, allowed: Ids | None
    ) -> faiss.SearchParameters | None:
        if not self.hnsw:
            if selector is None:
                return None
            params = faiss.SearchParameters()
        else:
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = self._ef(allowed)
        params.sel = selector
        return params

    def _ef(self, allowed: Ids | None) -> int:
        """efSearch, widened when a filter passes only a fraction of the graph (recall)."""
        ef = self.options.ef_search
        if allowed is None or not len(allowed):
            return ef
        share = len(allowed) / max(1, self.live)
        return int(min(max(ef, ef / max(share, 1e-6)), 4 * ef + 512))

    def save(self, directory: Path, key: str) -> Path:
        """Write the index crash-atomically as ``KEY.SEQ.faiss``; drop older snapshots."""
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / f"{key}.{self.seq:020d}.faiss"
        temp = directory / f".{key}.{uuid.uuid4().hex}.tmp"
        faiss.write_index(self.index, str(temp))
        _fsync_file(temp)
        os.replace(temp, final)
        _fsync_dir(directory)
        self.snapshot_seq = self.seq
        self.unsaved = 0
        for older in snapshots(directory, key)[1:]:
            older.unlink(missing_ok=True)
        return final


def shard_key(space: str, collection: str) -> str:
    """Return a file-name-safe key for a shard (names are free text)."""
    return hashlib.sha1(f"{space}\0{collection}".encode()).hexdigest()[:20]


def snapshots(directory: Path, key: str) -> list[Path]:
    """Return the shard's snapshot files, newest change seq first."""
    return sorted(directory.glob(f"{key}.*.faiss"), key=_snapshot_seq, reverse=True)


def load_snapshot(path: Path) -> tuple[faiss.IndexIDMap2, int] | None:
    """Return ``(index, seq)`` from a snapshot, or None when it is unreadable."""
    try:
        index = faiss.read_index(str(path))
    except RuntimeError:
        return None
    return (index, _snapshot_seq(path)) if isinstance(index, faiss.IndexIDMap2) else None


def index_ids(index: faiss.IndexIDMap2) -> Ids:
    return faiss.vector_to_array(index.id_map).astype(np.int64)


def _snapshot_seq(path: Path) -> int:
    return int(path.name.split(".")[1])


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
