"""The local VLM backend on a tiny random LLaVA built here, offline: its text is noise, its
plumbing (chat template, pictures as images, streaming, citations) is what is tested."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    CLIPImageProcessor,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    PreTrainedTokenizerFast,
)

from generate.answer import answer
from generate.backends.transformers import TransformersBackend
from generate.context import build_context
from mmrag.domain import Modality
from tests.conftest import make_settings
from tests.contract.answer_backend_suite import AnswerBackendContract
from tests.media import png_bytes
from tests.unit.generate.answer_support import hit

SPECIAL = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
WORDS = [f"w{i}" for i in range(100)] + [
    "[1]",
    "[2]",
    "the",
    "pump",
    "loop",
    "water",
    "source",
    "question",
]
# Renders system, text and image parts in order; real VLMs ship richer templates.
TEMPLATE = (
    "{% for m in messages %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<image> "
    "{% else %}{{ c['text'] }} {% endif %}{% endfor %}{% endfor %}"
    "{% if add_generation_prompt %}question {% endif %}"
)
PATCHES = 4  # (32 / 16) ** 2, plus one CLS token per picture


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    vocab = {w: i for i, w in enumerate(SPECIAL + WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
        eos_token="</s>", extra_special_tokens={"image_token": "<image>"},
    )  # fmt: skip
    assert len(tokenizer) == len(SPECIAL) + len(WORDS)  # not a silently tiny vocabulary
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                       num_attention_heads=2, image_size=32, patch_size=16),
        text_config=LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                num_hidden_layers=1, num_attention_heads=2,
                                num_key_value_heads=2, max_position_embeddings=4096),
        image_token_index=vocab["<image>"],
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=images, tokenizer=tokenizer, patch_size=16,
                               vision_feature_select_strategy="full", chat_template=TEMPLATE,
                               num_additional_image_tokens=1)  # fmt: skip
    path = tmp_path_factory.mktemp("tiny-llava")
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def test_pictures_reach_the_model_as_images_and_tokens_stream(
    tiny_vlm: Path, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, answer_transformers_model_path=tiny_vlm, answer_max_new_tokens=6
    )
    backend = TransformersBackend(settings)
    picture = png_bytes(48, 40, "red")
    sources = [
        hit("the pump loop water", 1),
        hit("", 2, modality=Modality.PAGE_IMAGE, media_key="k2"),
    ]
    context = build_context("the pump question", sources, budget_tokens=1000, max_images=4,
                            load_media=lambda key: picture, question_image=picture)  # fmt: skip
    batch = backend.inputs(context)
    assert tuple(batch["pixel_values"].shape) == (2, 3, 32, 32)  # the question's + source 2's
    image_id = backend._load()[0].tokenizer.convert_tokens_to_ids("<image>")
    assert int((batch["input_ids"] == image_id).sum()) == 2 * (PATCHES + 1)

    pieces = list(backend.stream(context))
    assert pieces and all(isinstance(p, str) for p in pieces)
    result = answer("the pump question", sources, backend, settings, lambda key: picture)
    assert result.backend == "transformers" and [s.n for s in result.sources] == [1, 2]
    assert result.sources[1].image == picture
    again = answer("the pump question", sources, backend, settings, lambda key: picture)
    assert again.text == result.text  # greedy decoding


def test_a_missing_model_directory_is_named(tmp_path: Path) -> None:
    from generate.errors import BackendNotConfigured

    settings = make_settings(tmp_path, answer_transformers_model_path=tmp_path / "nope")
    with pytest.raises(BackendNotConfigured, match="MMRAG_ANSWER_TRANSFORMERS_MODEL_PATH"):
        TransformersBackend(settings)


class TestTransformersContract(AnswerBackendContract):
    @pytest.fixture
    def backend(self, tiny_vlm: Path, tmp_path: Path) -> TransformersBackend:
        settings = make_settings(
            tmp_path, answer_transformers_model_path=tiny_vlm, answer_max_new_tokens=4
        )
        return TransformersBackend(settings)
