"""Fusion per request and per collection, ``tune`` through REST and the CLI, and the reranker.

One generated manual (40 sections, real text model) is ingested once for the module,
through the real pipeline stages in-process (no broker), then served by the real app.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from mmrag.catalog import collections, jobs
from mmrag.cli import app as cli_app
from mmrag.domain import Stage
from mmrag.settings import Settings
from retrieve.query import Query
from retrieve.rerank import Reranker
from retrieve.search import Retriever
from tests.conftest import make_settings, settings_env
from workers.bulk import accept
from workers.pipeline import run_stage
from workers.runtime import Runtime

COMMON = "the a of to and in is it for with on that this by from as be can"
TOPICS = (
    "pump valve pipe coolant pressure gauge flow seal filter leak boiler heater radiator "
    "fan duct vent damper blower motor belt bearing shaft gear clutch brake wheel tyre "
    "axle spring piston cylinder crank spark battery fuse relay switch cable plug socket "
    "lamp bulb lens mirror prism laser sensor probe meter scale clock timer alarm siren "
    "door hinge latch lock key bolt nut screw washer rivet nail glue tape paint brush"
)


def manual(sections: int, seed: int = 7) -> str:
    """Return a Markdown manual: each section's sentences mix its topic words with common ones."""
    rng = random.Random(seed)
    parts = ["# Plant manual\n"]
    for n in range(sections):
        topic = rng.sample(TOPICS.split(), 4)
        sentences = []
        for _ in range(5):
            words = [rng.choice(topic if rng.random() < 0.4 else COMMON.split()) for _ in range(10)]
            sentences.append(" ".join(words).capitalize() + ".")
        parts.append(f"## Part {n}\n\n{' '.join(sentences)}\n")
    return "\n".join(parts)


def ingest(settings: Settings, collection: str, files: Sequence[tuple[str, str]]) -> None:
    rt = Runtime.open(settings)
    try:
        with rt.catalog.session() as session:
            collection_id = collections.ensure_collection(session, collection).id
            job_id = jobs.create_job(session, collection_id).id
        for name, text in files:
            doc = accept(rt, io.BytesIO(text.encode()), collection_id=collection_id,
                         job_id=job_id, filename=name).document  # fmt: skip
            stage: Stage | None = Stage.EXTRACT
            while stage is not None:
                stage = run_stage(rt, doc.id, stage, "test").next_stage
    finally:
        rt.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("fusion") / "data", spaces=["text"])
    ingest(settings, "plant", [("manual.md", manual(40))])
    ingest(settings, "tiny", [("note.md", manual(2))])
    return settings


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def search(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/search", json={"collection": "plant", "k": 5, **body})
    assert response.status_code == 200, response.text
    return response.json()


def fusion_of(client: TestClient, name: str) -> dict[str, Any]:
    listed = {c["name"]: c for c in client.get("/v1/collections").json()}
    return listed[name]["fusion"]


def wait_tune(client: TestClient, name: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = client.get(f"/v1/collections/{name}/tune").json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.3)
    pytest.fail(f"tune of {name} not finished after {timeout}s: {state}")


def test_score_fusion_is_chosen_per_request_and_bad_fusion_is_a_422(client: TestClient) -> None:
    text = {"text": "pump valve coolant pressure"}
    rrf = search(client, query=text, fusion={"method": "rrf", "rrf_k": 60})
    minmax = search(client, query=text, fusion={"method": "minmax"})
    assert rrf["hits"][0]["score"] <= 2 / 61  # weighted RRF with two channels of weight 1
    assert 0 < minmax["hits"][-1]["score"] <= minmax["hits"][0]["score"] <= 1.0  # convex
    assert search(client, query=text, channels={"bm25": 1}, rrf_k=5)["hits"]  # older fields
    for fusion, code in (({"method": "borda"}, "unknown_fusion_method"),
                         ({"weights": {"vibes": 1}}, "unknown_channel"),
                         ({"weights": {"bm25": -1}}, "bad_weight")):  # fmt: skip
        response = client.post("/v1/search", json={"collection": "plant", "query": text,
                                                   "fusion": fusion})  # fmt: skip
        assert response.status_code == 422 and response.json()["error"]["code"] == code


def test_tune_job_stores_the_winner_that_searches_then_use(client: TestClient) -> None:
    assert fusion_of(client, "plant")["source"] == "settings"
    started = client.post("/v1/collections/plant/tune")
    assert started.status_code == 202 and started.json()["status"] == "queued"
    state = wait_tune(client, "plant")
    assert state["status"] == "done", state
    result = state["result"]
    assert result["queries"] >= 20 and len(result["candidates"]) > 20
    assert {"recall_at_1", "recall_at_10", "ndcg_at_10", "margin"} <= set(result["candidates"][0])
    stored = fusion_of(client, "plant")
    assert stored["source"] == "tuned" and stored["method"] == result["chosen"]["method"]
    chosen = {k: result["chosen"][k] for k in ("method", "weights", "rrf_k")}
    text = {"text": "valve pressure gauge"}
    implicit, explicit = search(client, query=text), search(client, query=text, fusion=chosen)
    assert implicit["hits"] == explicit["hits"]


def test_tune_refuses_a_tiny_collection_and_an_unknown_one(client: TestClient) -> None:
    tiny = client.post("/v1/collections/tiny/tune")
    assert tiny.status_code == 409 and tiny.json()["error"]["code"] == "collection_too_small"
    assert client.post("/v1/collections/nope/tune").status_code == 404


def test_mmrag_tune_prints_the_table_and_stores_the_winner(settings: Settings) -> None:
    result = CliRunner().invoke(cli_app, ["tune", "-c", "plant"], env=settings_env(settings))
    assert result.exit_code == 0, result.output
    assert (
        "R@10" in result.output
        and "nDCG@10" in result.output
        and "stored in 'plant'" in result.output
    )
    tiny = CliRunner().invoke(cli_app, ["tune", "-c", "tiny"], env=settings_env(settings))
    assert tiny.exit_code == 2 and "collection_too_small" in tiny.output


class KnownScorer:
    """A cross-encoder stand-in whose scores the test knows: the passage's length."""

    def predict(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [float(len(passage)) for _, passage in pairs]


def test_the_reranker_reorders_the_fused_top_n(settings: Settings) -> None:
    rt = Runtime.open(settings)
    try:
        known = settings.model_copy(update={"rerank_model": "known", "rerank_top_n": 8})
        reranker = Reranker(known, loader=lambda _: KnownScorer())
        retriever = Retriever(rt.catalog, rt.indexes, reranker=reranker)
        query = Query(collections=["plant"], text="pump valve pipe", k=8, weights={"bm25": 1})
        reranked = retriever.search(query).hits
        plain = Retriever(rt.catalog, rt.indexes).search(query).hits
        missing = settings.model_copy(update={"rerank_model": "nobody/no-such-reranker"})
        broken = Retriever(rt.catalog, rt.indexes, reranker=Reranker(missing)).search(query)
    finally:
        rt.close()
    lengths = [len(h.segment.text) for h in reranked]
    assert len(reranked) >= 4
    assert lengths == sorted(lengths, reverse=True)  # the known scores' order
    assert {h.segment.id for h in reranked} == {h.segment.id for h in plain}  # same top N
    assert [len(h.segment.text) for h in plain] != lengths  # it did reorder
    assert [h.channel_ranks["rerank"] for h in reranked] == list(range(1, len(reranked) + 1))
    assert "rerank" not in plain[0].channel_ranks
    # A reranker that cannot load leaves the fused order and says so.
    assert [h.segment.id for h in broken.hits] == [h.segment.id for h in plain]
    assert [d for d in broken.degraded if d.startswith("rerank: ")], broken.degraded
