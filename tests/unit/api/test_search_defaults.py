"""Search defaults come from settings; a request's own channels and rrf_k win."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.schemas import SearchIn
from mmrag.settings import Settings
from retrieve.request import build_query


def test_settings_give_the_default_weights_and_rrf_k(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, channel_weights={"bm25": 0.2, "text": 1.0}, rrf_k=10,
        merge_span_seconds=0,
    )  # fmt: skip
    plain = build_query(SearchIn(collection="c", query={"text": "x"}), None, None, settings, {})
    assert dict(plain.weights) == {"bm25": 0.2, "text": 1.0} and plain.rrf_k == 10
    assert plain.active() == ["bm25", "text"] and plain.merge_span_s == 0
    asked = SearchIn(collection="c", query={"text": "x"}, channels={"bm25": 1}, rrf_k=60)
    own = build_query(asked, None, None, settings, {})
    assert dict(own.weights) == {"bm25": 1} and own.rrf_k == 60


@pytest.mark.parametrize(
    "bad", [{"channel_weights": {"vibes": 1.0}}, {"channel_weights": {"bm25": -1}}, {"rrf_k": 0}]
)
def test_bad_default_weights_are_refused_at_startup(tmp_path: Path, bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, **bad)  # type: ignore[arg-type]
