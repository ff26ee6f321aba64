"""The retriever loads a space's model only when the query needs it (real stores, tiny models)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from index.filters import Payload
from index.indexes import Indexes, open_indexes
from index.spaces.base import Space
from index.spaces.registry import Loader, SpaceRegistry, default_loaders
from index.stores.base import VectorRecord
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings
from retrieve.query import Query
from retrieve.search import Retriever
from tests.conftest import make_settings


class CountingRegistry(SpaceRegistry):
    """The real registry and loaders, recording which spaces were loaded."""

    def __init__(self, settings: Settings) -> None:
        self.loaded: list[str] = []
        real = default_loaders()

        def counted(name: str) -> Loader:
            def load(settings: Settings, device: str) -> Space:
                self.loaded.append(name)
                return real[name](settings, device)

            return load

        super().__init__(settings, {name: counted(name) for name in real})


@pytest.fixture
def indexes(tmp_path: Path) -> Iterator[Indexes]:
    settings = make_settings(tmp_path / "data", spaces=["text", "image", "audio"])
    settings.data_dir.mkdir(parents=True)
    opened = open_indexes(settings)
    opened.__dict__["spaces"] = CountingRegistry(settings)
    yield opened
    opened.close()


@pytest.fixture
def retriever(indexes: Indexes, tmp_path: Path) -> Iterator[Retriever]:
    settings = indexes.settings
    catalog = Catalog(settings.resolved_catalog_url)
    yield Retriever(catalog, indexes, load_empty_spaces=False)
    catalog.dispose()


def loaded(indexes: Indexes) -> list[str]:
    registry = indexes.spaces
    assert isinstance(registry, CountingRegistry)
    return sorted(registry.loaded)


def fresh_registry(indexes: Indexes) -> CountingRegistry:
    """Swap in a registry that has loaded nothing yet, as a new CLI process has."""
    registry = CountingRegistry(indexes.settings)
    indexes.__dict__["spaces"] = registry
    return registry


def store_image_vector(indexes: Indexes, collection: str) -> None:
    space = indexes.spaces.get("image")
    vector = space.encode_images([Image.new("RGB", (32, 32), "red")])[0]
    payload = Payload("seg-1", "doc-1", collection, "image", "image/png")
    indexes.vectors.ensure_space("image", space.dim)
    indexes.vectors.upsert("image", [VectorRecord(payload, vector.astype(np.float32))])


def test_a_text_query_loads_no_space_that_holds_no_vectors(
    retriever: Retriever, indexes: Indexes
) -> None:
    result = retriever.search(Query(collections=["birds"], text="heron"))
    assert result.hits == [] and result.degraded == []
    assert loaded(indexes) == []


def test_a_text_query_loads_the_image_space_only_where_it_holds_vectors(
    retriever: Retriever, indexes: Indexes
) -> None:
    store_image_vector(indexes, "pictures")
    fresh_registry(indexes)
    retriever.search(Query(collections=["birds"], text="red square"))
    assert loaded(indexes) == []  # the picture is in another collection
    retriever.search(Query(collections=["pictures"], text="red square"))
    assert loaded(indexes) == ["image"]  # not text (no vectors), not audio (none either)


def test_an_image_query_never_loads_the_text_space(retriever: Retriever, indexes: Indexes) -> None:
    store_image_vector(indexes, "pictures")
    text_space = indexes.spaces.get("text")  # the text space holds vectors too
    payload = Payload("seg-2", "doc-2", "pictures", "text", "text/plain")
    indexes.vectors.ensure_space("text", text_space.dim)
    indexes.vectors.upsert("text", [VectorRecord(payload, text_space.encode_texts(["x"])[0])])
    fresh = fresh_registry(indexes)
    picture = Image.new("RGB", (32, 32), "blue")
    retriever.search(Query(collections=["pictures"], image=picture))
    assert fresh.loaded == ["image"]
    assert fresh.inputs("text") == frozenset({"text"})  # known before the text model loads


def test_waiting_for_a_model_is_its_own_phase(retriever: Retriever, indexes: Indexes) -> None:
    store_image_vector(indexes, "pictures")
    fresh_registry(indexes)
    query = Query(collections=["pictures"], text="red square", weights={"image": 1.0})
    first = retriever.search(query)
    assert "load" in first.timings and first.timings["load"] > 0
    assert "load" not in retriever.search(query).timings  # loaded once, then only encoding


def test_concurrent_searches_share_the_encoder_pass(indexes: Indexes) -> None:
    store_image_vector(indexes, "pictures")
    space = indexes.spaces.get("image")
    batch_sizes: list[int] = []
    tower = space.model.token_embedding  # type: ignore[attr-defined]  # open_clip's text input
    hook = tower.register_forward_hook(lambda _, args, __: batch_sizes.append(len(args[0])))
    catalog = Catalog(indexes.settings.resolved_catalog_url)
    # A window no search reaches: the batch closes when all three queries came.
    retriever = Retriever(catalog, indexes, batch_window_s=30.0, batch_max=3)
    texts = ["red square", "blue circle", "green"]
    queries = [Query(collections=["pictures"], text=t, weights={"image": 1.0}) for t in texts]
    try:
        with ThreadPoolExecutor(3) as clients:
            results = list(clients.map(retriever.search, queries))
    finally:
        retriever.close()
        hook.remove()
        catalog.dispose()
    assert batch_sizes == [3]
    assert [r.degraded for r in results] == [[], [], []]
    assert all(r.timings["encode"] > 0 for r in results)


def test_warming_loads_every_space_before_the_first_search(
    retriever: Retriever, indexes: Indexes
) -> None:
    store_image_vector(indexes, "pictures")
    fresh = fresh_registry(indexes)
    retriever.warm()
    assert sorted(fresh.loaded) == ["audio", "image", "text"]
    result = retriever.search(Query(collections=["pictures"], text="red square"))
    assert "load" not in result.timings and result.degraded == []
