"""The cross-encoder reranker loads real checkpoints only, and says why it is disabled."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import (  # type: ignore[attr-defined]
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    BertTokenizerFast,
)

from mmrag.settings import Settings
from retrieve.rerank import Reranker, RerankerUnavailable, load_cross_encoder
from tests.conftest import make_settings

WORDS = "the a of pump valve water cooling loop door slam quarterly target fan"
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS.split()]


def tiny_checkpoint(path: Path, *, head: bool = True) -> Path:
    """Save a tiny random BERT (with a 1-logit scoring head unless ``head`` is False)."""
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(VOCAB)})
    # A tokenizer built offline can silently come back with a useless vocabulary.
    assert len(tokenizer) == len(VOCAB)
    assert tokenizer.unk_token_id not in tokenizer("pump valve")["input_ids"]
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32,
                        max_position_embeddings=64, num_labels=1)  # type: ignore[call-arg]  # fmt: skip
    model = BertForSequenceClassification(config) if head else BertModel(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def settings_for(tmp_path: Path, model: str) -> Settings:
    return make_settings(tmp_path / "data", rerank_model=model, rerank_top_n=5)


def test_a_cross_encoder_directory_loads_and_orders_by_its_scores(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, str(tiny_checkpoint(tmp_path / "ce")))
    reranker = Reranker(settings)
    passages = [("a", "pump valve"), ("b", "door slam"), ("c", "cooling water loop")]
    order = reranker.order("pump water", passages)
    expected = reranker.scorer().predict([("pump water", text) for _, text in passages])
    assert [score for _, score in order] == sorted(map(float, expected), reverse=True)
    assert reranker.status() == {"up": True, "model": settings.rerank_model}


def test_a_checkpoint_without_its_scoring_head_is_refused(tmp_path: Path) -> None:
    plain = tiny_checkpoint(tmp_path / "plain", head=False)
    with pytest.raises(RerankerUnavailable, match="classifier"):
        load_cross_encoder(settings_for(tmp_path, str(plain)))


def test_a_missing_model_disables_the_reranker_once_with_the_setting_to_fix(
    tmp_path: Path,
) -> None:
    calls: list[str] = []

    def load(settings: Settings) -> object:
        calls.append("load")
        return load_cross_encoder(settings)

    reranker = Reranker(settings_for(tmp_path, "nobody/no-such-reranker"), loader=load)  # type: ignore[arg-type]
    status = reranker.status()
    assert status["up"] is False and status["state"] == "disabled"
    assert "MMRAG_RERANK_MODEL" in str(status["reason"]) and "MMRAG_OFFLINE" in str(
        status["reason"]
    )
    with pytest.raises(RerankerUnavailable):
        reranker.order("q", [("a", "text")])
    assert calls == ["load"]  # the failure is remembered


def test_without_a_model_the_reranker_is_off(tmp_path: Path) -> None:
    reranker = Reranker(make_settings(tmp_path / "data"))
    assert not reranker.enabled and reranker.status()["state"] == "off"
