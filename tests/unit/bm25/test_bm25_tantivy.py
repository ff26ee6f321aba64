from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from index.bm25.base import BM25Index
from index.bm25.tantivy_index import TantivyBM25
from index.filters import Filter
from index.tokenize import Tokenizer
from mmrag.errors import BadInput, MmragError
from tests.contract.bm25_suite import BM25Contract, seg


class TestTantivyBM25(BM25Contract):
    def make_index(self, path: Path) -> BM25Index:
        return TantivyBM25(path / "bm25")


def _write(path: str, start: int) -> None:
    index = TantivyBM25(Path(path))
    for i in range(start, start + 20):
        index.add([seg(i, f"shared word{i}", document=f"d{i}")])


def test_several_processes_write_without_losing_anything(tmp_path: Path) -> None:
    reader = TantivyBM25(tmp_path / "bm25")  # opened before the writers, as the API is
    assert reader.count() == 0
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_write, args=(str(tmp_path / "bm25"), s)) for s in (0, 100)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    assert TantivyBM25(tmp_path / "bm25").count() == 40
    assert reader.count() == 40  # an open handle sees other processes' commits in its count


def test_a_changed_tokenizer_is_refused(tmp_path: Path) -> None:
    TantivyBM25(tmp_path / "bm25")
    with pytest.raises(MmragError, match="tokenizer"):
        TantivyBM25(tmp_path / "bm25", Tokenizer(stemming=True))


def test_a_metadata_name_that_cannot_be_indexed_is_bad_input(tmp_path: Path) -> None:
    index = TantivyBM25(tmp_path / "bm25")
    index.add([seg(1, "x")])
    with pytest.raises(BadInput):
        index.search("x", 1, Filter(metadata_equals={"a b:": "1"}))
