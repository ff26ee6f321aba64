from __future__ import annotations

from pathlib import Path

from index.bm25.base import BM25Index
from index.bm25.sqlite_fts import SqliteBM25
from tests.contract.bm25_suite import BM25Contract


class TestSqliteBM25(BM25Contract):
    def make_index(self, path: Path) -> BM25Index:
        return SqliteBM25(path / "bm25.sqlite")
