"""A damaged FAISS record log: found from its header, reported with the fix by the store's
guard, and replaced by a rebuilt log that open searchers and writers follow."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from index.engine_errors import IndexDamaged
from index.filters import Filter
from index.indexes import open_indexes
from index.stores.base import VectorRecord
from index.stores.faiss import FaissStore
from index.stores.faiss_probe import log_damage
from index.stores.faiss_rebuild import LogRebuild
from tests.conftest import make_settings
from tests.contract.vector_store_suite import DIM, SPACE, random_records

EVERYWHERE = Filter()


def cut_log(root: Path) -> None:
    """Checkpoint the log into its file, then cut the file in half."""
    log = root / "records.sqlite"
    with closing(sqlite3.connect(log)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.truncate(log, log.stat().st_size // 2)


def filled(root: Path, n: int = 60) -> FaissStore:
    store = FaissStore(root, catchup_seconds=0.0)
    store.ensure_space(SPACE, DIM)
    store.upsert(SPACE, random_records(n))
    return store


def test_the_header_tells_a_cut_or_foreign_log(tmp_path: Path) -> None:
    filled(tmp_path).close()
    assert log_damage(tmp_path) is None
    cut_log(tmp_path)
    assert "truncated" in (log_damage(tmp_path) or "")
    (tmp_path / "records.sqlite").write_bytes(b"not a database at all" * 10)
    assert "not a SQLite file" in (log_damage(tmp_path) or "")


def test_the_guard_names_the_damage_and_the_command(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    filled(settings.index_dir / "faiss").close()
    cut_log(settings.index_dir / "faiss")
    with pytest.raises(IndexDamaged) as caught:
        open_indexes(settings).vectors.count(SPACE)
    assert caught.value.status == 503 and "truncated" in caught.value.message
    assert "mmrag reindex --vectors" in caught.value.message
    probe = open_indexes(settings).probe()["vectors"]
    assert probe["up"] is False and "mmrag reindex --vectors" in str(probe["reason"])


def test_open_searchers_and_writers_follow_the_rebuilt_log(tmp_path: Path) -> None:
    searcher, writer = filled(tmp_path), FaissStore(tmp_path, catchup_seconds=0.0)
    query = random_records(1, seed=5)[0].vector
    assert len(searcher.search(SPACE, query, 5, EVERYWHERE)) == 5  # shards loaded
    searcher.save_snapshots()
    rebuild = LogRebuild(tmp_path)
    rebuild.upsert(SPACE, DIM, random_records(10, seed=1))
    late = [
        VectorRecord(replace(r.payload, segment_id=f"late{i}"), r.vector)
        for i, r in enumerate(random_records(3, seed=2))
    ]
    rebuild.switch(lambda: rebuild.upsert(SPACE, DIM, late[:1]))  # the catch-up runs locked
    writer.upsert(SPACE, late[1:])  # a writer opened on the old log writes to the new one
    assert searcher.count(SPACE) == 13 and writer.count(SPACE) == 13
    hits = searcher.search(SPACE, query, 20, EVERYWHERE)
    assert len(hits) == 13 and {h.segment_id for h in hits} >= {r.payload.segment_id for r in late}
    assert not (tmp_path / "records.sqlite").exists() and not (tmp_path / "snapshots").exists()
    searcher.close()  # its snapshots go beside the new log, never under the old name
    assert FaissStore(tmp_path).count(SPACE) == 13


def test_an_abandoned_rebuild_leaves_the_old_log_current(tmp_path: Path) -> None:
    store = filled(tmp_path, n=4)
    rebuild = LogRebuild(tmp_path)
    rebuild.upsert(SPACE, DIM, random_records(10, seed=1))
    rebuild.abandon()
    assert store.count(SPACE) == 4
    assert not [name for name in os.listdir(tmp_path) if not name.startswith("records.sqlite")]
