"""Qdrant store (local mode) against the vector-store contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.filters import Filter
from index.stores.qdrant import QdrantStore, point_id
from tests.contract.vector_store_suite import DIM, SPACE, VectorStoreContract, random_records


class TestQdrantStore(VectorStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[QdrantStore]:
        store = QdrantStore.local()
        yield store
        store.close()


def test_point_ids_are_deterministic_uuids() -> None:
    assert point_id("seg-1") == point_id("seg-1") != point_id("seg-2")


def test_on_disk_local_mode_reopens_with_data_and_indexes(tmp_path: Path) -> None:
    store = QdrantStore.local(tmp_path / "q")
    indexed: dict[str, object] = {}
    create = store.client.create_payload_index

    def spy(collection: str, key: str, schema: object, **kwargs: object) -> object:
        indexed[key] = schema
        return create(collection, key, schema, **kwargs)

    store.client.create_payload_index = spy  # type: ignore[method-assign]
    store.ensure_space(SPACE, DIM)
    records = random_records(20)
    store.upsert(SPACE, records)
    assert indexed == {
        "collection": "keyword",
        "document_id": "keyword",
        "modality": "keyword",
        "media_type": "keyword",
        "segment_id": "keyword",
        "created_at": "float",
        "metadata.lang": "keyword",
        "metadata.page": "float",
        "metadata.flag": "bool",
        "metadata.score": "float",
    }
    store.close()
    reopened = QdrantStore.local(tmp_path / "q")
    assert reopened.count(SPACE) == 20
    hit = reopened.search(SPACE, records[4].vector, 1, Filter(metadata_equals={"page": 4}))
    assert hit[0].segment_id == "seg-4"
    assert np.isclose(hit[0].score, 1.0, atol=1e-5)
    reopened.close()
