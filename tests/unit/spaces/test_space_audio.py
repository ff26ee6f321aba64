"""Audio space (transformers CLAP) on the tiny random config, and the real directory path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from spaces_support import assert_batching_invariant, assert_rows

from index.spaces.audio import ClapSpace, load_audio_space
from index.spaces.base import SpaceUnavailable, UnsupportedQuery
from index.spaces.tiny import CLAP_SPECIAL, TINY_CLAP, TINY_WORDS, tiny_clap_tokenizer
from index.spaces.waveforms import to_rate
from mmrag.settings import Settings
from tests.contract.space_suite import SpaceContract


def tiny_settings(data_dir: Path, **overrides: object) -> Settings:
    values = {"audio_model": TINY_CLAP, "allow_random_weights": True, **overrides}
    return Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]


def tone(seconds: float, rate: int, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> ClapSpace:
    space = load_audio_space(tiny_settings(tmp_path_factory.mktemp("data")), "cpu")
    assert isinstance(space, ClapSpace)
    return space


def test_tokenizer_keeps_its_whole_vocabulary() -> None:
    tokenizer = tiny_clap_tokenizer()
    assert len(tokenizer) == len(CLAP_SPECIAL) + len(set(TINY_WORDS))
    ids = tokenizer("A dog barks")["input_ids"]
    assert tokenizer.unk_token_id not in ids and len(ids) == 5  # <s> a dog barks </s>


def test_clips_of_any_rate_and_length_encode(space: ClapSpace) -> None:
    clips = [tone(0.2, 8_000), tone(1.0, 16_000), tone(3.0, 44_100), tone(10.5, 48_000)]
    rows = [
        space.encode_audio([clip], rate)
        for clip, rate in zip(clips, [8_000, 16_000, 44_100, 48_000], strict=True)
    ]
    for row in rows:
        assert_rows(row, 1, space)
    assert_rows(space.encode_texts(["a dog barks", "rain", "zebra"]), 3, space)


def test_batching_and_repeats_give_the_same_rows(space: ClapSpace) -> None:
    clips = [tone(1.0, 16_000, hz) for hz in (220.0, 440.0, 880.0)] + [tone(10.5, 16_000)]
    assert_batching_invariant(space, lambda: space.encode_audio(clips, 16_000), atol=1e-4)
    assert_batching_invariant(space, lambda: space.encode_texts(["a", "dog barks"]), atol=1e-5)
    np.testing.assert_array_equal(
        space.encode_audio(clips, 16_000), space.encode_audio(clips, 16_000)
    )


def test_resampling_keeps_the_tone() -> None:
    out = to_rate(tone(1.0, 16_000), 16_000, 48_000)
    assert out.shape == (48_000,) and out.dtype == np.float32
    np.testing.assert_allclose(out[1000:-1000], tone(1.0, 48_000)[1000:-1000], atol=2e-3)


def test_bad_inputs_are_refused(space: ClapSpace) -> None:
    with pytest.raises(UnsupportedQuery):
        space.encode_images([Image.new("RGB", (8, 8))])
    for bad, rate in [
        (np.zeros(0, np.float32), 16_000),
        (np.zeros((2, 10), np.float32), 16_000),
        (np.full(10, np.nan, np.float32), 16_000),
        (np.zeros(10, np.float32), 0),
    ]:
        with pytest.raises(UnsupportedQuery):
            space.encode_audio([bad], rate)


def test_random_weights_need_the_test_switch(tmp_path: Path) -> None:
    with pytest.raises(SpaceUnavailable, match="MMRAG_ALLOW_RANDOM_WEIGHTS"):
        load_audio_space(tiny_settings(tmp_path, allow_random_weights=False), "cpu")


def test_offline_hub_model_is_disabled_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SpaceUnavailable, match="MMRAG_AUDIO_MODEL_PATH"):
        load_audio_space(Settings(data_dir=tmp_path, offline=True), "cpu")


def test_laion_clap_checkpoint_needs_the_optional_package(tmp_path: Path) -> None:
    pytest.importorskip("numpy", minversion="2")  # laion-clap cannot be installed beside it
    checkpoint = tmp_path / "630k-audioset-best.pt"
    checkpoint.write_bytes(b"not really")
    with pytest.raises(SpaceUnavailable, match="laion-clap"):
        load_audio_space(Settings(data_dir=tmp_path, audio_model_path=checkpoint), "cpu")


def test_saved_directory_loads_offline_to_the_same_space(space: ClapSpace, tmp_path: Path) -> None:
    space.model.save_pretrained(tmp_path / "clap")
    space.processor.save_pretrained(tmp_path / "clap")
    settings = Settings(data_dir=tmp_path, offline=True, audio_model_path=tmp_path / "clap")
    loaded = load_audio_space(settings, "cpu")
    clip = [tone(2.0, 22_050)]
    np.testing.assert_allclose(
        loaded.encode_audio(clip, 22_050), space.encode_audio(clip, 22_050), atol=1e-5
    )
    np.testing.assert_allclose(loaded.encode_texts(["dog"]), space.encode_texts(["dog"]), atol=1e-5)


class TestAudioSpaceContract(SpaceContract):
    @pytest.fixture
    def space(self, space: ClapSpace) -> ClapSpace:  # the module's loaded space
        return space
