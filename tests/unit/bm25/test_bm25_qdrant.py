"""Qdrant sparse BM25 in local mode: the same contract as the embedded index.

Local mode applies ``Modifier.IDF`` (checked below), so ranking tests are real; a second
client on the same path is refused by local mode, hence no second-handle test.
"""

from __future__ import annotations

from pathlib import Path

from qdrant_client import QdrantClient

from index.bm25.base import BM25Index
from index.bm25.qdrant_sparse import QdrantBM25, term_id
from index.filters import Filter
from tests.contract.bm25_suite import BM25Contract, seg


class TestQdrantBM25(BM25Contract):
    supports_second_handle = False

    def make_index(self, path: Path) -> BM25Index:
        return QdrantBM25(QdrantClient(":memory:"), avg_len=5.0)


def test_local_mode_weights_terms_by_idf() -> None:
    index = QdrantBM25(QdrantClient(":memory:"), avg_len=3.0)
    index.add([seg(i, "common filler") for i in range(20)])
    index.add([seg(100, "common common common"), seg(101, "rare filler filler")])
    assert index.search("common rare", 2, Filter())[0].segment_id == "s101"


def test_term_ids_are_stable() -> None:
    assert term_id("cooling") == 0x46920E50  # blake2b, not Python's salted hash()
