"""Rebuilding the tantivy index from a source of segments: damage is found cheaply, a damaged
index is replaced whole, a healthy one per collection, and open handles see the result."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from index.bm25.base import TermDoc
from index.bm25.tantivy_index import TantivyBM25
from index.bm25.tantivy_probe import index_damage
from index.bm25.tantivy_rebuild import rebuild_tantivy
from index.filters import Filter
from index.tokenize import Tokenizer
from tests.contract.bm25_suite import ids, seg

CATALOG = {"a": [seg(1, "harbour lights", "a"), seg(2, "cooling pump", "a")],
           "b": [seg(3, "harbour crane", "b")]}  # fmt: skip


def source(wanted: Sequence[str] | None) -> Iterator[Sequence[TermDoc]]:
    for name in wanted if wanted is not None else sorted(CATALOG):
        yield CATALOG[name]


def found(index: TantivyBM25, query: str) -> list[str]:
    return sorted(ids(index.search(query, 10, Filter())))


def cut_segment_file(path: Path) -> Path:
    segment = sorted(path.glob("*.idx"))[0]
    half = segment.read_bytes()[: segment.stat().st_size // 2]
    segment.with_name("cut").write_bytes(half)
    os.replace(segment.with_name("cut"), segment)  # new inode: open handles keep the old map
    return segment


def test_a_cut_segment_file_is_found_without_reading_the_index(tmp_path: Path) -> None:
    index = TantivyBM25(tmp_path / "bm25")
    index.add([seg(1, "harbour lights"), seg(2, "pump")])
    index.delete_documents(["d2"])  # a .del file is part of the segment too
    assert index_damage(tmp_path / "bm25") is None
    segment = cut_segment_file(tmp_path / "bm25")
    assert index_damage(tmp_path / "bm25") == f"{segment.name}: truncated or overwritten"
    segment.unlink()
    assert index_damage(tmp_path / "bm25") == f"{segment.name}: missing"


def test_a_damaged_index_is_rebuilt_whole_and_open_handles_see_it(tmp_path: Path) -> None:
    path = tmp_path / "bm25"
    open_before = TantivyBM25(path)
    open_before.add([seg(9, "stale entry", "a")])
    cut_segment_file(path)
    rebuilt = rebuild_tantivy(path, Tokenizer(), ["a"], source)
    assert rebuilt is None  # every collection, not only the one asked for
    assert index_damage(path) is None
    assert found(open_before, "harbour") == ["s1", "s3"] and found(open_before, "stale") == []
    assert found(TantivyBM25(path), "harbour") == ["s1", "s3"]


def test_a_healthy_index_is_rebuilt_per_collection(tmp_path: Path) -> None:
    index = TantivyBM25(tmp_path / "bm25")
    index.add([seg(9, "harbour ghost", "a"), seg(3, "harbour crane", "b"), seg(7, "x", "z")])
    assert rebuild_tantivy(tmp_path / "bm25", Tokenizer(), ["a"], source) == ["a"]
    assert found(index, "harbour") == ["s1", "s3"]  # s9 is no longer in the catalog
    assert found(index, "x") == ["s7"]  # another collection is left alone


def test_a_write_during_the_rebuild_waits_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "bm25"
    worker = TantivyBM25(path)
    reading, added = threading.Event(), threading.Event()

    def slow_source(wanted: Sequence[str] | None) -> Iterator[Sequence[TermDoc]]:
        reading.set()
        assert not added.wait(0.5)  # the worker's write waits for the rebuild's lock
        yield from source(wanted)

    def write() -> None:
        reading.wait()
        worker.add([seg(5, "harbour ferry", "b")])  # indexed after the catalog was read
        added.set()

    thread = threading.Thread(target=write)
    thread.start()
    rebuild_tantivy(path, Tokenizer(), None, slow_source)
    thread.join(10)
    assert added.is_set() and found(worker, "harbour") == ["s1", "s3", "s5"]


def test_a_tokenizer_change_is_healed_by_a_whole_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "bm25"
    TantivyBM25(path).add([seg(3, "harbour cranes", "b")])
    stemmed = Tokenizer(stemming=True)
    assert rebuild_tantivy(path, stemmed, ["a"], source) is None
    assert found(TantivyBM25(path, stemmed), "harbour") == ["s1", "s3"]  # opens: marker rewritten
