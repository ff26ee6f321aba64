"""FAISS store against the vector-store contract, plus what only the embedded store promises:
HNSW above the exact threshold, catch-up across processes, concurrent writers, crash-atomic
snapshots, float16 storage."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.filters import Filter, Payload
from index.stores.base import VectorRecord
from index.stores.faiss import FaissStore
from index.stores.faiss_shard import IndexOptions, load_snapshot, snapshots
from tests.contract.vector_store_suite import (
    DIM,
    SPACE,
    VectorStoreContract,
    random_records,
    reference,
    unit,
)


class TestFaissStore(VectorStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[FaissStore]:
        store = FaissStore(tmp_path / "faiss")
        yield store
        store.close()


class TestFaissStoreHnswShards(VectorStoreContract):
    """The same contract with every shard on HNSW (filters take the exact path)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[FaissStore]:
        store = FaissStore(tmp_path / "faiss", IndexOptions(exact_threshold=1, ef_search=256))
        yield store
        store.close()


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim))
    return unit(centres[rng.integers(0, 50, n)] + 0.6 * rng.standard_normal((n, dim)))


def _records(vectors: np.ndarray, prefix: str = "s", collection: str = "c") -> list[VectorRecord]:
    return [
        VectorRecord(Payload(f"{prefix}{i}", f"d{i % 50}", collection, "text", "text/plain"), v)
        for i, v in enumerate(vectors)
    ]


def _recall(store: FaissStore, records: list[VectorRecord], queries: np.ndarray) -> float:
    found = 0
    for q in queries:
        hits = {h.segment_id for h in store.search(SPACE, q, 10, Filter())}
        found += len(hits & set(reference(records, q, 10, Filter())))
    return found / (10 * len(queries))


@pytest.mark.parametrize("float16", [False, True])
def test_hnsw_above_threshold_keeps_recall(tmp_path: Path, float16: bool) -> None:
    options = IndexOptions(exact_threshold=500, float16=float16)
    store = FaissStore(tmp_path / "f", options)
    store.ensure_space(SPACE, 32)
    records = _records(_clustered(4000, 32, seed=1))
    store.upsert(SPACE, records[:300])
    store.search(SPACE, records[0].vector, 1, Filter())
    assert store.shard_info()[0].kind == "flat"
    store.upsert(SPACE, records[300:])
    assert store.shard_info()[0].kind == "hnsw"
    queries = _clustered(50, 32, seed=2)
    assert _recall(store, records, queries) >= 0.95
    store.delete_documents([f"d{i}" for i in range(10)])  # 20% of the graph: tombstones
    live = [r for r in records if int(r.payload.document_id[1:]) >= 10]
    assert store.count(SPACE) == len(live)
    assert _recall(store, live, queries) >= 0.95
    store.close()


def test_exact_float16_is_close_to_float32(tmp_path: Path) -> None:
    store = FaissStore(tmp_path / "f", IndexOptions(float16=True))
    store.ensure_space(SPACE, 32)
    records = _records(_clustered(1000, 32, seed=3))
    store.upsert(SPACE, records)
    assert _recall(store, records, _clustered(30, 32, seed=4)) >= 0.95
    store.close()


def test_second_instance_catches_up_without_restart(tmp_path: Path) -> None:
    writer = FaissStore(tmp_path / "f")
    reader = FaissStore(tmp_path / "f", catchup_seconds=0.2)
    writer.ensure_space(SPACE, DIM)
    records = random_records(40)
    writer.upsert(SPACE, records[:20])
    assert len(reader.search(SPACE, records[0].vector, 100, Filter())) == 20
    writer.upsert(SPACE, records[20:])
    writer.delete_documents(["doc-0"])
    deadline = time.monotonic() + 0.2 + 5
    while len(reader.search(SPACE, records[0].vector, 100, Filter())) != 36:
        assert time.monotonic() < deadline, "reader never saw the writer's commits"
        time.sleep(0.05)
    assert "seg-0" not in {
        h.segment_id for h in reader.search(SPACE, records[0].vector, 5, Filter())
    }
    writer.close()
    reader.close()


def _write_many(root: str, worker: int, rounds: int) -> None:
    store = FaissStore(Path(root))
    store.ensure_space(SPACE, DIM)
    rng = np.random.default_rng(worker)
    for r in range(rounds):
        # Both workers write the shared ids 0..49 (replacements) and their own ids.
        ids = [f"shared-{i}" for i in range(r % 5 * 10, r % 5 * 10 + 10)]
        ids += [f"w{worker}-{r}-{i}" for i in range(10)]
        vectors = unit(rng.standard_normal((len(ids), DIM)))
        store.upsert(
            SPACE,
            [
                VectorRecord(Payload(s, f"doc-{worker}", "c", "text", "text/plain"), v)
                for s, v in zip(ids, vectors, strict=True)
            ],
        )
    store.close()


@pytest.mark.slow
def test_concurrent_writer_processes(tmp_path: Path) -> None:
    root = tmp_path / "f"
    FaissStore(root).ensure_space(SPACE, DIM)
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_write_many, args=(str(root), w, 40)) for w in (1, 2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    store = FaissStore(root)
    assert store.count(SPACE) == 50 + 2 * 40 * 10
    hits = store.search(SPACE, unit(np.ones(DIM)), 5000, Filter())
    names = [h.segment_id for h in hits]
    assert len(names) == len(set(names)) == 850
    store.close()


def _snapshot_forever(root: str) -> None:
    store = FaissStore(Path(root), IndexOptions(exact_threshold=100), snapshot_every=1)
    store.ensure_space(SPACE, DIM)
    rng = np.random.default_rng(0)
    for r in range(100_000):
        store.upsert(
            SPACE,
            [
                VectorRecord(Payload(f"s{r}-{i}", f"d{r}", "c", "text", "text/plain"), v)
                for i, v in enumerate(unit(rng.standard_normal((20, DIM))))
            ],
        )
        store.search(SPACE, unit(np.ones(DIM)), 1, Filter())
        if r % 4 == 0:
            store.delete_documents([f"d{r - 1}"])


@pytest.mark.slow
def test_killed_during_snapshot_writes_reopens_committed_state(tmp_path: Path) -> None:
    root = tmp_path / "f"
    child = multiprocessing.get_context("spawn").Process(
        target=_snapshot_forever, args=(str(root),)
    )
    child.start()
    deadline = time.monotonic() + 60
    while len(list((root / "snapshots").glob("*.faiss"))) < 1 or _rounds(root) < 30:
        assert time.monotonic() < deadline and child.is_alive()
        time.sleep(0.05)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    for path in (root / "snapshots").glob("*.faiss"):
        assert load_snapshot(path) is not None, f"torn snapshot {path.name}"
    store = FaissStore(root, IndexOptions(exact_threshold=100))
    live = _committed(root)
    queries = unit(np.random.default_rng(5).standard_normal((20, DIM)))
    assert _recall(store, live, queries) >= 0.95
    (shard,) = store.shard_info()
    assert shard.kind == "hnsw" and shard.vectors == store.count(SPACE) == len(live)
    assert _keys(root) and all(len(snapshots(root / "snapshots", k)) == 1 for k in _keys(root))
    store.close()


def _committed(root: Path) -> list[VectorRecord]:
    """The records as SQLite holds them (the truth the index must reflect)."""
    with sqlite3.connect(root / "records.sqlite") as db:
        rows = db.execute("SELECT segment_id, vector FROM records").fetchall()
    return [
        VectorRecord(Payload(s, "d", "c", "text", "text/plain"), np.frombuffer(v, np.float32))
        for s, v in rows
    ]


def _rounds(root: Path) -> int:
    if not (root / "records.sqlite").exists():
        return 0
    store = FaissStore(root)
    try:
        return store.count(SPACE) // 20 if store.shard_info() is not None else 0
    except Exception:
        return 0
    finally:
        store.close()


def _keys(root: Path) -> set[str]:
    return {p.name.split(".")[0] for p in (root / "snapshots").glob("*.faiss")}


def test_restart_loads_snapshot_and_replays_the_tail(tmp_path: Path) -> None:
    options = IndexOptions(exact_threshold=50)
    store = FaissStore(tmp_path / "f", options)
    store.ensure_space(SPACE, DIM)
    records = random_records(200)
    store.upsert(SPACE, records[:150])
    store.search(SPACE, records[0].vector, 1, Filter())
    store.save_snapshots()
    store.upsert(SPACE, records[150:])  # tail after the snapshot
    store.delete_documents(["doc-3"])
    reopened = FaissStore(tmp_path / "f", options)
    live = [r for r in records if r.payload.document_id != "doc-3"]
    query = records[7].vector
    hits = reopened.search(SPACE, query, 300, Filter())
    assert [h.segment_id for h in hits] == reference(live, query, 300, Filter())
    store.close()
    reopened.close()
