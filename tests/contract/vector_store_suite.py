"""Contract of a vector store: every backend's test class inherits :class:`VectorStoreContract`.

A subclass provides the ``store`` fixture (a fresh, empty store). Results are checked
against :class:`~index.filters.Filter.matches` and a brute-force numpy search, the
reference semantics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from index.filters import Filter, Payload, Range
from index.stores.base import VectorRecord, VectorStore
from mmrag.errors import BadInput, Conflict, NotFound

DIM = 8
SPACE = "text"


def unit(rows: NDArray[np.float64]) -> NDArray[np.float32]:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def random_records(n: int, seed: int = 0, dim: int = DIM) -> list[VectorRecord]:
    """Records with varied payloads: 3 collections, 10 documents, 2 modalities, metadata."""
    rng = np.random.default_rng(seed)
    vectors = unit(rng.standard_normal((n, dim)))
    return [
        VectorRecord(
            Payload(
                segment_id=f"seg-{i}",
                document_id=f"doc-{i % 10}",
                collection=f"col-{i % 3}",
                modality="text" if i % 2 else "image",
                media_type=("application/pdf", "image/png", "text/plain")[i % 3 - 1],
                created_at=float(1_700_000_000 + i * 60),
                metadata={
                    "lang": ("en", "fr", "de")[i % 4 % 3],
                    "page": i % 7,
                    "flag": i % 5 == 0,
                    "score": i / 10,
                },
            ),
            vectors[i],
        )
        for i in range(n)
    ]


def reference(
    records: Sequence[VectorRecord], query: NDArray[np.float32], k: int, where: Filter
) -> list[str]:
    """Brute-force top ``k`` segment ids among the records that pass ``where``."""
    passing = [r for r in records if where.matches(r.payload)]
    scores = [float(np.dot(r.vector, query)) for r in passing]
    order = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return [passing[i].payload.segment_id for i in order]


FILTERS = {
    "collection": Filter(collections=["col-1"]),
    "two_collections": Filter(collections=["col-0", "col-2"]),
    "documents": Filter(document_ids=["doc-3", "doc-4"]),
    "modality": Filter(modalities=["image"]),
    "media_types": Filter(media_types=["image/png", "text/plain"]),
    "metadata_value": Filter(metadata_equals={"lang": "fr"}),
    "metadata_list": Filter(metadata_equals={"lang": ["fr", "de"]}),
    "metadata_int": Filter(metadata_equals={"page": 3}),
    "metadata_int_list": Filter(metadata_equals={"page": [0, 6]}),
    "metadata_bool": Filter(metadata_equals={"flag": True}),
    "metadata_range": Filter(metadata_ranges={"page": Range(gte=2, lte=4)}),
    "metadata_float_range": Filter(metadata_ranges={"score": Range(gte=5.5)}),
    "metadata_open_range": Filter(metadata_ranges={"page": Range(lte=1)}),
    "created": Filter(created=Range(gte=1_700_000_000 + 60 * 50, lte=1_700_000_000 + 60 * 90)),
    "missing_field": Filter(metadata_equals={"author": "nobody"}),
    "combined": Filter(
        collections=["col-0", "col-1"],
        modalities=["text"],
        metadata_equals={"lang": ["en", "de"]},
        metadata_ranges={"page": Range(gte=1)},
        created=Range(lte=1_700_000_000 + 60 * 150),
    ),
}


class VectorStoreContract:
    @pytest.fixture
    def store(self) -> VectorStore:
        raise NotImplementedError("a backend's test class provides the store fixture")

    @pytest.fixture
    def filled(self, store: VectorStore) -> tuple[VectorStore, list[VectorRecord]]:
        records = random_records(200)
        store.ensure_space(SPACE, DIM)
        store.upsert(SPACE, records)
        return store, records

    def test_empty_space_has_no_hits(self, store: VectorStore) -> None:
        store.ensure_space(SPACE, DIM)
        query = unit(np.ones(DIM))
        assert store.search(SPACE, query, 5, Filter()) == []
        assert store.search(SPACE, query, 5, Filter(collections=["none"])) == []
        assert store.count(SPACE) == 0

    def test_unknown_space_is_not_found(self, store: VectorStore) -> None:
        with pytest.raises(NotFound):
            store.search("nope", unit(np.ones(DIM)), 5, Filter())
        with pytest.raises(NotFound):
            store.upsert("nope", random_records(1))

    def test_space_dim_is_fixed(self, store: VectorStore) -> None:
        store.ensure_space(SPACE, DIM)
        store.ensure_space(SPACE, DIM)
        with pytest.raises(Conflict):
            store.ensure_space(SPACE, DIM + 1)

    def test_dim_mismatch_is_bad_input(self, store: VectorStore) -> None:
        store.ensure_space(SPACE, DIM)
        with pytest.raises(BadInput):
            store.upsert(SPACE, random_records(3, dim=DIM + 2))
        with pytest.raises(BadInput):
            store.search(SPACE, unit(np.ones(DIM + 1)), 5, Filter())
        assert store.count(SPACE) == 0

    def test_bad_k_and_zero_vector(self, filled: tuple[VectorStore, list[VectorRecord]]) -> None:
        store, _ = filled
        with pytest.raises(BadInput):
            store.search(SPACE, unit(np.ones(DIM)), 0, Filter())
        with pytest.raises(BadInput):
            store.search(SPACE, np.zeros(DIM, dtype=np.float32), 5, Filter())

    def test_exact_results_match_brute_force(
        self, filled: tuple[VectorStore, list[VectorRecord]]
    ) -> None:
        store, records = filled
        queries = unit(np.random.default_rng(7).standard_normal((20, DIM)))
        for query in queries:
            hits = store.search(SPACE, query, 10, Filter())
            assert [h.segment_id for h in hits] == reference(records, query, 10, Filter())
            best = records[int(hits[0].segment_id.split("-")[1])].vector
            assert hits[0].score == pytest.approx(float(np.dot(best, query)), abs=1e-4)

    @pytest.mark.parametrize("name", sorted(FILTERS))
    def test_filters_match_reference(
        self, filled: tuple[VectorStore, list[VectorRecord]], name: str
    ) -> None:
        store, records = filled
        where = FILTERS[name]
        query = unit(np.random.default_rng(3).standard_normal(DIM))
        expected = reference(records, query, 1000, where)
        assert [h.segment_id for h in store.search(SPACE, query, 1000, where)] == expected
        assert store.count(SPACE, where) == len(expected)

    def test_k_larger_than_matches_returns_all(
        self, filled: tuple[VectorStore, list[VectorRecord]]
    ) -> None:
        store, records = filled
        where = Filter(document_ids=["doc-1"])
        hits = store.search(SPACE, records[1].vector, 100, where)
        assert len(hits) == 20
        assert hits[0].segment_id == "seg-1"

    def test_multi_collection_search_merges_by_score(
        self, filled: tuple[VectorStore, list[VectorRecord]]
    ) -> None:
        store, records = filled
        where = Filter(collections=["col-0", "col-2", "col-missing"])
        for query in unit(np.random.default_rng(11).standard_normal((5, DIM))):
            hits = store.search(SPACE, query, 15, where)
            assert [h.segment_id for h in hits] == reference(records, query, 15, where)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    def test_upsert_replaces_by_segment_id(
        self, filled: tuple[VectorStore, list[VectorRecord]]
    ) -> None:
        store, records = filled
        old = records[5]
        moved = Payload(**{**old.payload.__dict__, "collection": "col-new", "metadata": {"v": 2}})
        new_vector = unit(-np.asarray(old.vector, dtype=np.float64))
        store.upsert(SPACE, [VectorRecord(moved, new_vector), VectorRecord(moved, new_vector)])
        assert store.count(SPACE) == len(records)
        hits = store.search(SPACE, new_vector, 300, Filter())
        assert [h.segment_id for h in hits].count("seg-5") == 1
        assert hits[0].segment_id == "seg-5"
        assert store.count(SPACE, Filter(collections=["col-new"], metadata_equals={"v": 2})) == 1
        assert "seg-5" not in {
            h.segment_id
            for h in store.search(
                SPACE, new_vector, 300, Filter(collections=[old.payload.collection])
            )
        }

    def test_delete_documents_from_every_space(
        self, filled: tuple[VectorStore, list[VectorRecord]]
    ) -> None:
        store, records = filled
        store.ensure_space("image", 4)
        store.upsert("image", random_records(30, seed=5, dim=4))
        store.delete_documents(["doc-2", "doc-7", "doc-unknown"])
        gone = {"doc-2", "doc-7"}
        assert store.count(SPACE) == sum(r.payload.document_id not in gone for r in records)
        assert store.count("image") == 24
        hits = store.search(SPACE, records[2].vector, 300, Filter())
        assert not {h.segment_id for h in hits} & {f"seg-{i}" for i in range(2, 200, 5)}
        store.delete_documents([])
