from __future__ import annotations

import random
from pathlib import Path

from rank_bm25 import BM25Okapi

from index.bm25.base import TermDoc, TermFilter
from index.bm25.sqlite_fts import SqliteBM25
from index.tokenize import tokenize


def doc(i: int, text: str, collection: str = "c", document: str | None = None) -> TermDoc:
    return TermDoc(f"s{i}", document or f"d{i}", collection, "text", "text/plain", text)


def test_tokenize_is_unicode_aware_and_lowercase() -> None:
    assert tokenize("Straße CAFÉ naïve_x 42 日本語") == [
        "strasse",
        "café",
        "naïve",
        "x",
        "42",
        "日本語",
    ]


def test_search_ranks_and_filters_inside_the_index(tmp_path: Path) -> None:
    index = SqliteBM25(tmp_path / "bm25.sqlite")
    index.add(
        [
            doc(1, "the cooling loop pumps glycol"),
            doc(2, "quarterly target met", collection="other"),
            doc(3, "cooling cooling fans and more cooling", collection="other"),
        ]
    )
    hits = index.search("cooling", 10, TermFilter())
    assert [h.segment_id for h in hits] == ["s3", "s1"]
    assert hits[0].score > hits[1].score > 0
    assert [h.segment_id for h in index.search("cooling", 10, TermFilter(collections=["c"]))] == [
        "s1"
    ]
    assert index.search("cooling", 10, TermFilter(document_ids=["d2"])) == []
    assert index.search("!!! ???", 10, TermFilter()) == []


def test_adding_again_replaces_and_delete_removes(tmp_path: Path) -> None:
    index = SqliteBM25(tmp_path / "bm25.sqlite")
    index.add([doc(1, "alpha beta", document="d"), doc(2, "beta gamma", document="d")])
    index.add([doc(1, "alpha beta", document="d")])
    assert index.count() == 2
    index.delete_documents(["d"])
    assert index.count() == 0
    assert index.search("beta", 5, TermFilter()) == []


def test_visible_to_a_second_handle_without_reopen(tmp_path: Path) -> None:
    writer = SqliteBM25(tmp_path / "bm25.sqlite")
    reader = SqliteBM25(tmp_path / "bm25.sqlite")
    assert reader.search("zebra", 1, TermFilter()) == []
    writer.add([doc(1, "zebra crossing")])
    assert [h.segment_id for h in reader.search("zebra", 1, TermFilter())] == ["s1"]


def test_top_hit_agrees_with_rank_bm25(tmp_path: Path) -> None:
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(5, 40))) for _ in range(400)]
    index = SqliteBM25(tmp_path / "bm25.sqlite")
    index.add([doc(i, t) for i, t in enumerate(texts)])
    reference = BM25Okapi([tokenize(t) for t in texts], k1=1.2, b=0.75)
    agree = 0
    for _q in range(50):
        query = " ".join(rng.choices(vocab, k=3))
        scores = reference.get_scores(tokenize(query))
        best = max(range(len(texts)), key=lambda i: scores[i])
        top = index.search(query, 1, TermFilter())
        agree += bool(top) and top[0].segment_id == f"s{best}"
    assert agree >= 45
