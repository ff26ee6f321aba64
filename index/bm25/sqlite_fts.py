"""BM25 over SQLite FTS5: incremental adds and deletes, safe across processes (WAL).

Text is tokenized by :class:`index.tokenize.Tokenizer` before it reaches FTS5, so documents
and queries share one tokenizer; FTS5's ``unicode61`` then only splits on the spaces.
Measured slower than tantivy at 100k+ segments (bench/bm25.py): FTS5 scores every row an OR
query matches. Kept as the zero-dependency fallback; scores use FTS5's own IDF.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from index.bm25.base import TermDoc, TermHit
from index.filters import Filter
from index.tokenize import Tokenizer
from mmrag.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS segs (
    rowid INTEGER PRIMARY KEY,
    segment_id TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    modality TEXT NOT NULL,
    media_type TEXT NOT NULL,
    created_at REAL NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS segs_document ON segs(document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5(
    body, tokenize = 'unicode61 remove_diacritics 0'
);
"""


class SqliteBM25:
    """BM25 index in one SQLite file; open one instance per process and share it."""

    def __init__(self, path: Path, tokenizer: Tokenizer | None = None) -> None:
        self.path = path
        self.tokenizer = tokenizer or Tokenizer()
        self._file = SqliteFile(path, schema=_SCHEMA)
        self._db = self._file.connection
        self._tx = self._file.write

    def add(self, docs: Sequence[TermDoc]) -> None:
        with self._tx() as db:
            self._delete_segments(db, [d.payload.segment_id for d in docs])
            for doc in docs:
                p = doc.payload
                cursor = db.execute(
                    "INSERT INTO segs(segment_id, document_id, collection, modality, media_type,"
                    " created_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        p.segment_id,
                        p.document_id,
                        p.collection,
                        p.modality,
                        p.media_type,
                        p.created_at,
                        json.dumps(dict(p.metadata)),
                    ),
                )
                db.execute(
                    "INSERT INTO terms(rowid, body) VALUES (?, ?)",
                    (cursor.lastrowid, " ".join(self.tokenizer(doc.text))),
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

    def search(self, query: str, k: int, where: Filter) -> list[TermHit]:
        tokens = sorted(set(self.tokenizer(query)))
        if not tokens or k <= 0:
            return []
        match = " OR ".join(f'"{t}"' for t in tokens)
        sql = [
            "SELECT segs.segment_id, rank FROM terms JOIN segs ON segs.rowid = terms.rowid",
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
        sql.extend(_metadata_sql(where, params))
        # ORDER BY rank (not bm25()) lets FTS5 sort inside the virtual table.
        sql.append("ORDER BY rank LIMIT ?")
        params.append(k)
        rows = self._db().execute(" ".join(sql), params).fetchall()
        # FTS5's bm25() is negated so that ascending order is best-first.
        return [TermHit(segment_id, -score) for segment_id, score in rows]

    def count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM segs").fetchone()[0])

    def close(self) -> None:
        self._file.close()


def _metadata_sql(where: Filter, params: list[object]) -> list[str]:
    """Return the SQL conditions of the created-at and metadata parts of ``where``."""
    sql: list[str] = []
    if where.created is not None:
        for op, bound in ((">=", where.created.gte), ("<=", where.created.lte)):
            if bound is not None:
                sql.append(f"AND segs.created_at {op} ?")
                params.append(bound)
    for name, wanted in where.metadata_equals.items():
        values = list(wanted) if isinstance(wanted, list | tuple) else [wanted]
        sql.append(f"AND json_extract(segs.meta, ?) IN ({','.join('?' * len(values))})")
        params.extend([f'$."{name}"', *values])
    for name, bounds in where.metadata_ranges.items():
        sql.append("AND json_type(segs.meta, ?) IN ('integer', 'real')")
        params.append(f'$."{name}"')
        for op, bound in ((">=", bounds.gte), ("<=", bounds.lte)):
            if bound is not None:
                sql.append(f"AND json_extract(segs.meta, ?) {op} ?")
                params.extend([f'$."{name}"', bound])
    return sql
