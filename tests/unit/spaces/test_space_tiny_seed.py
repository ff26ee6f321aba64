"""Tiny random models must embed alike in every process: workers index with one instance,
the API queries with another. Their weights come from a fixed seed, not the global RNG."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from index.spaces.registry import SpaceRegistry
from mmrag.settings import Settings


def test_tiny_models_do_not_depend_on_the_global_rng(tmp_path: object) -> None:
    settings = Settings(
        image_model="mmrag-tiny-clip", audio_model="mmrag-tiny-clap",
        allow_random_weights=True, offline=True, spaces=["image", "audio"],
    )  # fmt: skip
    picture = Image.new("RGB", (64, 64), "navy")
    sound = np.sin(np.linspace(0, 400, 48_000)).astype(np.float32)
    runs = []
    for noise in (1, 99):
        torch.rand(noise)  # another process would have drawn something else before loading
        registry = SpaceRegistry(settings)
        runs.append(
            (
                registry.get("image").encode_images([picture]),
                registry.get("audio").encode_audio([sound], 48_000),
            )
        )
    assert np.allclose(runs[0][0], runs[1][0]) and np.allclose(runs[0][1], runs[1][1])
