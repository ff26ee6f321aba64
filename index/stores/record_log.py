"""SQLite source of truth of the FAISS store: records plus an append-only change sequence.

Writers (any process) only run short ``BEGIN IMMEDIATE`` transactions here, so several
worker processes can write at once without corrupting anything. Every upsert and delete
appends to ``changes`` with a growing ``seq``; an in-memory index that has applied changes
up to ``seq`` catches up by reading the rows after it. Internal ids come from
AUTOINCREMENT and are never reused, so a replaced segment gets a new id (the old one is a
``del``), which is what lets HNSW (which cannot delete in place) tombstone it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from index.filters import Filter, Payload
from index.stores import faiss_generation as generations
from index.stores.faiss_generation import Generation
from index.stores.sql_filter import filter_sql
from mmrag.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spaces (name TEXT PRIMARY KEY, dim INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    space TEXT NOT NULL,
    segment_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    document_id TEXT NOT NULL,
    modality TEXT NOT NULL,
    media_type TEXT NOT NULL,
    created_at REAL NOT NULL,
    metadata TEXT NOT NULL,
    vector BLOB NOT NULL,
    UNIQUE (space, segment_id)
);
CREATE INDEX IF NOT EXISTS records_shard ON records (space, collection);
CREATE INDEX IF NOT EXISTS records_document ON records (document_id);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op TEXT NOT NULL CHECK (op IN ('add', 'del')),
    rid INTEGER NOT NULL,
    space TEXT NOT NULL,
    collection TEXT NOT NULL
);
"""

Ids = NDArray[np.int64]


@dataclass(frozen=True)
class Change:
    seq: int
    op: str  # "add" | "del"
    rid: int
    space: str
    collection: str


@dataclass(frozen=True)
class ShardRows:
    """Every live record of one shard as of change ``seq`` (one consistent read)."""

    seq: int
    ids: Ids
    vectors: NDArray[np.float32]


class RecordLog:
    """The current log under ``root`` (one SQLite file, WAL; one connection per thread).

    It follows ``CURRENT`` (:mod:`index.stores.faiss_generation`): :meth:`follow` switches
    to a rebuilt log, and every write transaction checks, once it holds the file's write
    lock, that its file is still current. A ``pinned`` log (one being rebuilt) never moves.
    """

    def __init__(self, root: Path, pinned: Generation | None = None) -> None:
        self.root = root
        self._pinned = pinned
        self._open()

    def _open(self) -> None:
        self._stamp = generations.stamp(self.root)
        self.generation = self._pinned or generations.current(self.root)
        self.path = self.root / self.generation.records
        self._file = SqliteFile(self.path, schema=_SCHEMA, timeout=60, sync="FULL")
        self._db = self._file.connection

    def follow(self) -> bool:
        """Switch to the log ``CURRENT`` names if it changed; return whether it did."""
        if self._pinned is not None or generations.stamp(self.root) == self._stamp:
            return False
        self._open()
        return True

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the current log, committed on success."""
        while True:
            self.follow()
            db = self._file.connection()
            db.execute("BEGIN IMMEDIATE")
            if self._pinned is not None or generations.stamp(self.root) == self._stamp:
                break
            db.execute("ROLLBACK")  # switched while we waited for the lock: write to the new log
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same committed state."""
        db = self._db()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def declare_space(self, space: str, dim: int) -> int:
        """Record ``space`` with ``dim`` unless known; return the dim on record."""
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO spaces (name, dim) VALUES (?, ?)", (space, dim))
            return int(db.execute("SELECT dim FROM spaces WHERE name = ?", (space,)).fetchone()[0])

    def space_dim(self, space: str) -> int | None:
        row = self._db().execute("SELECT dim FROM spaces WHERE name = ?", (space,)).fetchone()
        return None if row is None else int(row[0])

    def upsert(self, space: str, payloads: Sequence[Payload], vectors: NDArray[np.float32]) -> None:
        """Replace-or-insert each record and log the change, all in one transaction."""
        with self._write() as db:
            for payload, vector in zip(payloads, vectors, strict=True):
                self._replace(db, space, payload, vector.tobytes())

    def _replace(self, db: sqlite3.Connection, space: str, payload: Payload, blob: bytes) -> None:
        old = db.execute(
            "DELETE FROM records WHERE space = ? AND segment_id = ? RETURNING id, collection",
            (space, payload.segment_id),
        ).fetchone()
        if old is not None:
            _log(db, "del", old[0], space, old[1])
        rid = db.execute(
            "INSERT INTO records (space, segment_id, collection, document_id, modality,"
            " media_type, created_at, metadata, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                space,
                payload.segment_id,
                payload.collection,
                payload.document_id,
                payload.modality,
                payload.media_type,
                float(payload.created_at),
                json.dumps(dict(payload.metadata)),
                blob,
            ),
        ).fetchone()[0]
        _log(db, "add", rid, space, payload.collection)

    def delete_documents(self, document_ids: Sequence[str]) -> int:
        """Delete every record of these documents; return how many went."""
        with self._write() as db:
            gone = db.execute(
                "DELETE FROM records WHERE document_id IN (SELECT value FROM json_each(?))"
                " RETURNING id, space, collection",
                (json.dumps(list(document_ids)),),
            ).fetchall()
            for rid, space, collection in gone:
                _log(db, "del", rid, space, collection)
        return len(gone)

    def last_seq(self) -> int:
        row = self._db().execute("SELECT max(seq) FROM changes").fetchone()
        return int(row[0] or 0)

    def changes_since(self, seq: int) -> list[Change]:
        rows = self._db().execute(
            "SELECT seq, op, rid, space, collection FROM changes WHERE seq > ? ORDER BY seq",
            (seq,),
        )
        return [Change(*row) for row in rows]

    def shards(self, space: str) -> list[str]:
        """Return the collections that hold records in ``space``."""
        rows = self._db().execute(
            "SELECT DISTINCT collection FROM records WHERE space = ?", (space,)
        )
        return [row[0] for row in rows]

    def shard_rows(self, space: str, collection: str, dim: int) -> ShardRows:
        with self._read() as db:
            seq = int(db.execute("SELECT max(seq) FROM changes").fetchone()[0] or 0)
            rows = db.execute(
                "SELECT id, vector FROM records WHERE space = ? AND collection = ? ORDER BY id",
                (space, collection),
            ).fetchall()
        return ShardRows(seq, *_unpack(rows, dim))

    def live_ids(self, space: str, collection: str) -> Ids:
        rows = self._db().execute(
            "SELECT id FROM records WHERE space = ? AND collection = ?", (space, collection)
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def vectors(self, ids: Ids, dim: int) -> tuple[Ids, NDArray[np.float32]]:
        """Return the ids among ``ids`` that still exist and their vectors."""
        rows = (
            self._db()
            .execute(
                "SELECT id, vector FROM records WHERE id IN (SELECT value FROM json_each(?))"
                " ORDER BY id",
                (json.dumps(ids.tolist()),),
            )
            .fetchall()
        )
        return _unpack(rows, dim)

    def segment_ids(self, ids: Sequence[int]) -> dict[int, str]:
        rows = self._db().execute(
            "SELECT id, segment_id FROM records WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )
        return {int(rid): str(segment_id) for rid, segment_id in rows}

    def matching_ids(self, space: str, where: Filter) -> Ids:
        clause, params = filter_sql(where)
        rows = self._db().execute(
            f"SELECT id FROM records WHERE space = ? AND {clause}", (space, *params)
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def count(self, space: str, where: Filter | None) -> int:
        clause, params = filter_sql(where or Filter())
        row = (
            self._db()
            .execute(f"SELECT count(*) FROM records WHERE space = ? AND {clause}", (space, *params))
            .fetchone()
        )
        return int(row[0])

    def close(self) -> None:
        self._file.close()


def _log(db: sqlite3.Connection, op: str, rid: int, space: str, collection: str) -> None:
    db.execute(
        "INSERT INTO changes (op, rid, space, collection) VALUES (?, ?, ?, ?)",
        (op, rid, space, collection),
    )


def _unpack(rows: list[tuple[int, bytes]], dim: int) -> tuple[Ids, NDArray[np.float32]]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    flat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
    return ids, flat.reshape(len(rows), dim).copy()
