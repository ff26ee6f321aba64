"""The real text encoder (all-MiniLM-L6-v2 from its package), loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from generate.semantic import TextEncoder
from index.spaces.registry import SpaceRegistry
from tests.conftest import make_settings


@pytest.fixture(scope="session")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> TextEncoder:
    settings = make_settings(Path(tmp_path_factory.mktemp("minilm")), spaces=["text"])
    found = TextEncoder.from_spaces(SpaceRegistry(settings))
    assert found.encode is not None, found.missing
    return found
