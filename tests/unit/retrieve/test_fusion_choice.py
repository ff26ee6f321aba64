"""Which fusion a search runs: request fusion > older request fields > collection > settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmrag.errors import BadInput
from mmrag.settings import Settings
from retrieve.query import Query
from retrieve.request import QueryIn, SearchIn, build_query

TUNED = {"method": "dbsf", "weights": {"bm25": 0.3, "text": 1.0}, "rrf_k": 20}


def _query(tmp_path: Path, stored: list[dict[str, Any] | None], **body: Any) -> Query:
    settings = Settings(data_dir=tmp_path, channel_weights={"bm25": 1.0, "text": 1.0, "image": 1})
    request = SearchIn(collection="c", query=QueryIn(text="x"), **body)
    return build_query(request, None, None, settings, {}, stored)


def test_settings_apply_when_nothing_else_is_given(tmp_path: Path) -> None:
    query = _query(tmp_path, [None])
    assert (query.fusion, query.rrf_k) == ("minmax", 60)
    assert dict(query.weights) == {"bm25": 1.0, "text": 1.0, "image": 1.0}


def test_a_collections_tuned_fusion_applies_over_the_settings(tmp_path: Path) -> None:
    query = _query(tmp_path, [TUNED])
    assert (query.fusion, query.rrf_k) == ("dbsf", 20)
    assert dict(query.weights) == {"bm25": 0.3, "text": 1.0, "image": 1.0}  # image kept


def test_collections_that_disagree_fall_back_to_the_settings(tmp_path: Path) -> None:
    assert _query(tmp_path, [TUNED, None]).fusion == "minmax"
    assert _query(tmp_path, [TUNED, TUNED]).fusion == "dbsf"


def test_the_request_overrides_field_by_field(tmp_path: Path) -> None:
    query = _query(tmp_path, [TUNED], fusion={"method": "rrf"}, rrf_k=5)
    assert (query.fusion, query.rrf_k) == ("rrf", 5)
    assert dict(query.weights) == {"bm25": 0.3, "text": 1.0, "image": 1.0}
    old_style = _query(tmp_path, [TUNED], channels={"text": 1.0})
    assert dict(old_style.weights) == {"text": 1.0} and old_style.fusion == "dbsf"
    new_style = _query(tmp_path, [TUNED], channels={"text": 1}, fusion={"weights": {"bm25": 2}})
    assert dict(new_style.weights) == {"bm25": 2.0}


@pytest.mark.parametrize(
    ("fusion", "code"),
    [
        ({"method": "borda"}, "unknown_fusion_method"),
        ({"weights": {"vibes": 1.0}}, "unknown_channel"),
        ({"weights": {"bm25": -1.0}}, "bad_weight"),
        ({"rrf_k": 0}, "bad_rrf_k"),
    ],
)
def test_bad_fusion_is_refused_with_a_code(
    tmp_path: Path, fusion: dict[str, Any], code: str
) -> None:
    with pytest.raises(BadInput) as caught:
        _query(tmp_path, [None], fusion=fusion)
    assert caught.value.code == code and caught.value.status == 422
