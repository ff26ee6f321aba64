"""Contract of an embedding space: every space's test class inherits these tests.

A subclass provides the ``space`` fixture (a loaded space, module scope is fine). The suite
checks, for each kind of input the space declares: one normalised float32 row per input of
the space's dimension, the same rows for the same inputs (determinism), an empty batch of
shape (0, dim); and that every kind it does not declare is refused with UnsupportedQuery,
as is audio that is not a finite mono waveform.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from index.spaces.base import Space, UnsupportedQuery, Vectors

RATE = 48_000


def _tone(seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds), dtype=np.float32) / RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _encoders(space: Space) -> dict[str, Callable[[int], Vectors]]:
    """Return, per input kind, a function encoding ``n`` distinct inputs of that kind."""
    colours = ["red", "navy", "green", "yellow", "white"]
    return {
        "text": lambda n: space.encode_texts([f"sentence {i} about harbours" for i in range(n)]),
        "image": lambda n: space.encode_images(
            [Image.new("RGB", (64, 48), colours[i % len(colours)]) for i in range(n)]
        ),
        "audio": lambda n: space.encode_audio(
            [_tone(1.0 + i * 0.5, 220.0 * (i + 1)) for i in range(n)], RATE
        ),
    }


class SpaceContract:
    @pytest.fixture
    def space(self) -> Space:
        raise NotImplementedError

    def test_declares_a_name_a_dimension_and_what_it_encodes(self, space: Space) -> None:
        assert space.name and space.dim > 0
        assert space.inputs and space.inputs <= {"text", "image", "audio"}

    def test_rows_are_normalised_float32_of_the_space_dimension(self, space: Space) -> None:
        for kind, encode in _encoders(space).items():
            if kind not in space.inputs:
                continue
            rows = encode(3)
            assert rows.dtype == np.float32, kind
            assert rows.shape == (3, space.dim), kind
            np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
            assert np.isfinite(rows).all(), kind

    def test_the_same_inputs_give_the_same_rows(self, space: Space) -> None:
        for kind, encode in _encoders(space).items():
            if kind in space.inputs:
                np.testing.assert_allclose(encode(2), encode(2), atol=1e-6, err_msg=kind)

    def test_an_empty_batch_is_an_empty_matrix(self, space: Space) -> None:
        for kind, encode in _encoders(space).items():
            if kind in space.inputs:
                assert encode(0).shape == (0, space.dim), kind

    def test_inputs_it_does_not_encode_are_refused(self, space: Space) -> None:
        for kind, encode in _encoders(space).items():
            if kind not in space.inputs:
                with pytest.raises(UnsupportedQuery):
                    encode(1)

    def test_audio_that_is_not_a_finite_mono_waveform_is_refused(self, space: Space) -> None:
        if "audio" not in space.inputs:
            pytest.skip("the space does not encode audio")
        stereo = np.zeros((2, RATE), dtype=np.float32)
        broken = np.full(RATE, np.nan, dtype=np.float32)
        for waveform, rate in ((stereo, RATE), (broken, RATE), (_tone(1.0, 440.0), 0)):
            with pytest.raises(UnsupportedQuery):
                space.encode_audio([waveform], rate)
