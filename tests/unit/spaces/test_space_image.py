"""Image space (open_clip) on the tiny random CLIP config, and the real checkpoint path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from spaces_support import assert_batching_invariant, assert_rows

from index.spaces.base import SpaceUnavailable, UnsupportedQuery
from index.spaces.image import ImageSpace, load_image_space
from index.spaces.tiny import TINY_CLIP
from mmrag.settings import Settings
from tests.contract.space_suite import SpaceContract


def tiny_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "image_model": TINY_CLIP,
        "image_pretrained": None,
        "allow_random_weights": True,
        **overrides,
    }
    return Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]


def pictures() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 255, (48, 80, 3), dtype=np.uint8))
    return [Image.new("RGB", (40, 30), (255, 0, 0)), noise, Image.new("L", (64, 64), 128)]


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> ImageSpace:
    return load_image_space(tiny_settings(tmp_path_factory.mktemp("data")), "cpu")


def test_images_and_texts_share_one_space(space: ImageSpace) -> None:
    assert space.dim == 32
    assert_rows(space.encode_images(pictures()), 3, space)
    assert_rows(space.encode_texts(["a red square", "noise"]), 2, space)
    assert space.inputs == {"image", "text"}


def test_batching_and_repeats_give_the_same_rows(space: ImageSpace) -> None:
    assert_batching_invariant(space, lambda: space.encode_images(pictures()), atol=1e-5)
    assert_batching_invariant(space, lambda: space.encode_texts(["a", "b c", "d"]), atol=1e-5)
    np.testing.assert_array_equal(space.encode_images(pictures()), space.encode_images(pictures()))


def test_audio_is_refused(space: ImageSpace) -> None:
    with pytest.raises(UnsupportedQuery):
        space.encode_audio([np.zeros(100, dtype=np.float32)], 16_000)


def test_random_weights_need_the_test_switch(tmp_path: Path) -> None:
    with pytest.raises(SpaceUnavailable, match="MMRAG_ALLOW_RANDOM_WEIGHTS"):
        load_image_space(tiny_settings(tmp_path, allow_random_weights=False), "cpu")


def test_offline_default_without_weights_names_the_settings(tmp_path: Path) -> None:
    with pytest.raises(SpaceUnavailable) as caught:
        load_image_space(Settings(data_dir=tmp_path, offline=True), "cpu")
    assert "MMRAG_IMAGE_MODEL_PATH" in caught.value.message
    assert "MMRAG_OFFLINE" in caught.value.message


def test_unknown_architecture_and_tag_are_disabled(tmp_path: Path) -> None:
    with pytest.raises(SpaceUnavailable, match="MMRAG_IMAGE_MODEL"):
        load_image_space(Settings(data_dir=tmp_path, image_model="ViT-Nope"), "cpu")
    siglip = Settings(data_dir=tmp_path, offline=True, image_model="ViT-B-16-SigLIP")
    with pytest.raises(SpaceUnavailable, match="webli"):
        load_image_space(siglip, "cpu")


def test_checkpoint_file_loads_without_random_weights(space: ImageSpace, tmp_path: Path) -> None:
    checkpoint = tmp_path / "tiny.pt"
    torch.save({"state_dict": space.model.state_dict()}, checkpoint)  # tensors only
    settings = tiny_settings(tmp_path, allow_random_weights=False, image_model_path=checkpoint)
    loaded = load_image_space(settings, "cpu")
    np.testing.assert_allclose(
        loaded.encode_images(pictures()), space.encode_images(pictures()), atol=1e-6
    )
    np.testing.assert_allclose(
        loaded.encode_texts(["a dog"]), space.encode_texts(["a dog"]), atol=1e-6
    )


class TestImageSpaceContract(SpaceContract):
    @pytest.fixture
    def space(self, space: ImageSpace) -> ImageSpace:  # the module's loaded space
        return space
