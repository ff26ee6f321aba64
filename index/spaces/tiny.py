"""Tiny random-initialised configurations of the real architectures, for tests only.

They go through the same loading and encoding code as real weights and build in well under
a second on CPU. They are refused unless ``allow_random_weights`` is set.
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path
from typing import Any

TINY_CLIP = "mmrag-tiny-clip"
TINY_CLAP = "mmrag-tiny-clap"

# open_clip config: a ViT image tower and a causal text transformer with CLIP's BPE tokenizer.
TINY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}

# Words the tiny CLAP tokenizer knows; anything else becomes <unk>.
_WORD_TEXT = (
    "a an the of and with in on at to from is are was sound sounds noise loud quiet soft "
    "dog dogs puppy bark barks barking cat cats meow bird birds sing sings singing chirp "
    "door doors slam slams slamming knock knocking bell bells ring ringing phone alarm "
    "car cars engine horn traffic train plane siren water rain river wave waves wind storm "
    "thunder fire crackling music piano guitar drum drums violin song voice speech man "
    "woman child children laugh laughing cry crying talk talking speaks footsteps glass "
    "breaking clock ticking keyboard typing applause crowd silence high low fast slow"
)
TINY_WORDS = tuple(_WORD_TEXT.split())
CLAP_SPECIAL = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")  # RoBERTa's ids 0..4

_clip_lock = threading.Lock()
_clip_registered = False


def register_tiny_clip() -> None:
    """Make ``mmrag-tiny-clip`` known to open_clip's config registry (once per process)."""
    global _clip_registered
    with _clip_lock:
        if _clip_registered:
            return
        import open_clip

        # open_clip's registry reads JSON files; this keeps the config in code (no package data).
        folder = Path(tempfile.mkdtemp(prefix="mmrag-open-clip-"))
        (folder / f"{TINY_CLIP}.json").write_text(json.dumps(TINY_CLIP_CONFIG))
        open_clip.add_model_config(folder)
        _clip_registered = True


def tiny_clap_tokenizer() -> Any:
    """Return a RoBERTa-style WordLevel tokenizer over ``TINY_WORDS``, built without files."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(CLAP_SPECIAL)}
    for word in TINY_WORDS:
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=64,
    )


def tiny_clap(seed: int = 0) -> tuple[Any, Any]:
    """Return (ClapModel, ClapProcessor): tiny HTSAT + RoBERTa, random weights from ``seed``."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor

    tokenizer = tiny_clap_tokenizer()
    config = ClapConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "max_position_embeddings": 72,  # RoBERTa positions start after pad id 1
            "type_vocab_size": 1,
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
        audio_config={
            "spec_size": 256,
            "num_mel_bins": 64,
            "patch_embeds_hidden_size": 16,
            "depths": [1, 1],
            "num_attention_heads": [1, 2],
            "hidden_size": 32,
            "window_size": 8,
            "enable_fusion": False,
        },
        projection_dim=32,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ClapModel(config).eval()
    features = ClapFeatureExtractor(
        feature_size=64,
        sampling_rate=48_000,
        hop_length=480,
        max_length_s=10,
        fft_window_size=1024,
        padding="repeatpad",
        truncation="rand_trunc",
    )
    return model, ClapProcessor(feature_extractor=features, tokenizer=tokenizer)
