"""Contract of a BM25 index: every backend's test class inherits these tests."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from index.bm25.base import BM25Index, TermDoc
from index.filters import Filter, Payload, Range


def seg(i: int, text: str, collection: str = "c", document: str | None = None, **meta) -> TermDoc:
    payload = Payload(
        f"s{i}",
        document or f"d{i}",
        collection,
        "text" if i % 2 else "page_image",
        "text/plain" if i % 3 else "application/pdf",
        created_at=float(i),
        metadata=meta,
    )
    return TermDoc(payload, text)


def ids(hits: list) -> list[str]:
    return [h.segment_id for h in hits]


class BM25Contract:
    """Subclasses provide ``make_index(tmp_path)``; ``second_handle`` if supported."""

    supports_second_handle = True

    def make_index(self, path: Path) -> BM25Index:
        raise NotImplementedError

    @pytest.fixture
    def index(self, tmp_path: Path) -> BM25Index:
        return self.make_index(tmp_path)

    def test_ranks_by_term_frequency_and_rarity(self, index: BM25Index) -> None:
        index.add(
            [
                seg(1, "the cooling loop pumps glycol"),
                seg(2, "quarterly target met"),
                seg(3, "cooling cooling fans and more cooling"),
                seg(4, "fans spin"),
                seg(5, "nothing relevant here at all"),
            ]
        )
        assert ids(index.search("cooling", 10, Filter())) == ["s3", "s1"]
        hits = index.search("glycol fans", 10, Filter())
        assert hits[0].segment_id in {"s1", "s4"} and hits[0].score > 0
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert index.search("!!! ???", 10, Filter()) == []
        assert index.search("absent", 10, Filter()) == []
        assert index.search("cooling", 0, Filter()) == []

    def test_filters_apply_inside_the_index(self, index: BM25Index) -> None:
        index.add(
            [seg(i, "common " + "rare " * (i % 3), "a" if i < 10 else "b") for i in range(20)]
        )
        top = index.search("common rare", 3, Filter(collections=["b"]))
        assert len(top) == 3 and all(int(h.segment_id[1:]) >= 10 for h in top)
        assert ids(index.search("common", 5, Filter(document_ids=["d7"]))) == ["s7"]

    def test_filters_follow_the_reference_semantics(self, index: BM25Index) -> None:
        rng = random.Random(3)
        docs = [
            seg(
                i,
                "word " * rng.randint(1, 4),
                rng.choice("ab"),
                year=rng.randint(1990, 2010),
                author=rng.choice(["ann", "bob"]),
                score=rng.random(),
            )
            for i in range(60)
        ]
        index.add(docs)
        filters = [
            Filter(collections=["a"], modalities=["text"]),
            Filter(media_types=["application/pdf"], document_ids=["d3", "d6", "d7"]),
            Filter(metadata_equals={"author": "ann", "year": [1995, 2000, 2005]}),
            Filter(metadata_ranges={"year": Range(gte=1995, lte=2002)}),
            Filter(metadata_ranges={"score": Range(lte=0.5)}, created=Range(gte=10, lte=40)),
            Filter(metadata_ranges={"missing": Range(gte=0)}),
        ]
        for where in filters:
            expected = {d.payload.segment_id for d in docs if where.matches(d.payload)}
            assert set(ids(index.search("word", 100, where))) == expected, where

    def test_adding_again_replaces_and_delete_removes(self, index: BM25Index) -> None:
        index.add([seg(1, "alpha beta", document="d"), seg(2, "beta gamma", document="d")])
        index.add([seg(1, "alpha delta", document="d")])
        assert index.count() == 2
        assert ids(index.search("delta", 5, Filter())) == ["s1"]
        index.delete_documents(["d"])
        assert index.count() == 0
        assert index.search("beta", 5, Filter()) == []

    def test_second_handle_sees_writes_within_seconds(self, tmp_path: Path) -> None:
        if not self.supports_second_handle:
            pytest.skip("backend allows one handle per path")
        writer, reader = self.make_index(tmp_path), self.make_index(tmp_path)
        assert reader.search("zebra", 1, Filter()) == []
        writer.add([seg(1, "zebra crossing")])
        deadline = time.monotonic() + 5
        while not reader.search("zebra", 1, Filter()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ids(reader.search("zebra", 1, Filter())) == ["s1"]
