"""BM25 over SQLite FTS5: incremental adds and deletes, safe across processes (WAL).

Text is tokenized by :func:`index.tokenize.tokenize` before it reaches FTS5, so documents
and queries share one tokenizer; FTS5's ``unicode61`` then only splits on the spaces.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from index.bm25.base import TermDoc, TermFilter, TermHit
from index.tokenize import tokenize

_SCHEMA = """
CREATE TABLE IF NOT EXISTS segs (
    rowid INTEGER PRIMARY KEY,
    segment_id TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    modality TEXT NOT NULL,
    media_type TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS segs_document ON segs(document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5(
    body, tokenize = 'unicode61 remove_diacritics 0'
);
"""


class SqliteBM25:
    """BM25 index in one SQLite file; open one instance per process and share it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        with self._tx() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def add(self, docs: Sequence[TermDoc]) -> None:
        with self._tx() as db:
            self._delete_segments(db, [d.segment_id for d in docs])
            for doc in docs:
                cursor = db.execute(
                    "INSERT INTO segs(segment_id, document_id, collection, modality, media_type)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (doc.segment_id, doc.document_id, doc.collection, doc.modality, doc.media_type),
                )
                db.execute(
                    "INSERT INTO terms(rowid, body) VALUES (?, ?)",
                    (cursor.lastrowid, " ".join(tokenize(doc.text))),
                )

    def _delete_segments(self, db: sqlite3.Connection, segment_ids: Sequence[str]) -> None:
        for segment_id in segment_ids:
            row = db.execute(
                "SELECT rowid FROM segs WHERE segment_id = ?", (segment_id,)
            ).fetchone()
            if row is not None:
                db.execute("DELETE FROM terms WHERE rowid = ?", row)
                db.execute("DELETE FROM segs WHERE rowid = ?", row)

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        with self._tx() as db:
            for document_id in document_ids:
                rows = db.execute(
                    "SELECT rowid FROM segs WHERE document_id = ?", (document_id,)
                ).fetchall()
                db.executemany("DELETE FROM terms WHERE rowid = ?", rows)
                db.executemany("DELETE FROM segs WHERE rowid = ?", rows)

    def search(self, query: str, k: int, where: TermFilter) -> list[TermHit]:
        tokens = sorted(set(tokenize(query)))
        if not tokens or k <= 0:
            return []
        match = " OR ".join(f'"{t}"' for t in tokens)
        sql = [
            "SELECT segs.segment_id, bm25(terms) FROM terms JOIN segs ON segs.rowid = terms.rowid",
            "WHERE terms MATCH ?",
        ]
        params: list[object] = [match]
        for column, values in (
            ("collection", where.collections),
            ("document_id", where.document_ids),
            ("modality", where.modalities),
            ("media_type", where.media_types),
        ):
            if values:
                sql.append(f"AND segs.{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        sql.append("ORDER BY bm25(terms) LIMIT ?")
        params.append(k)
        rows = self._db().execute(" ".join(sql), params).fetchall()
        # FTS5's bm25() is negated so that ascending order is best-first.
        return [TermHit(segment_id, -score) for segment_id, score in rows]

    def count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM segs").fetchone()[0])

    def document_count(self, document_id: str) -> int:
        return int(
            self._db()
            .execute("SELECT count(*) FROM segs WHERE document_id = ?", (document_id,))
            .fetchone()[0]
        )
