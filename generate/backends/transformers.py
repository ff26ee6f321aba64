"""A local vision-language model through transformers (image-text-to-text).

Any model that ``AutoModelForImageTextToText`` and ``AutoProcessor`` load (Qwen2-VL /
Qwen2.5-VL, SmolVLM, LLaVA) whose processor has a chat template. Pictures go in as images,
in the user message right after their fenced source. Generation is greedy and streamed
(``TextIteratorStreamer`` on a generating thread). The model loads once, on first use.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from generate.backends.prompt import SYSTEM, user_parts
from generate.context import Context
from generate.errors import BackendNotConfigured
from mmrag.settings import Settings


class TransformersBackend:
    name = "transformers"
    accepts_images = True

    def __init__(self, settings: Settings) -> None:
        where = settings.answer_transformers_model_path or settings.answer_transformers_model
        if where is None:
            raise BackendNotConfigured(
                "backend 'transformers' needs a model: set MMRAG_ANSWER_TRANSFORMERS_MODEL_PATH "
                "(a local directory) or MMRAG_ANSWER_TRANSFORMERS_MODEL (a hub id)"
            )
        if isinstance(where, Path) and not where.is_dir():
            raise BackendNotConfigured(
                f"backend 'transformers': no model directory at {where} "
                "(MMRAG_ANSWER_TRANSFORMERS_MODEL_PATH)"
            )
        self.where = str(where)
        self.offline = settings.offline
        self.max_new_tokens = settings.answer_max_new_tokens
        self.device = settings.device
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                import torch
                from transformers import AutoModelForImageTextToText, AutoProcessor

                device = self.device
                if device == "auto":
                    device = "cuda" if torch.cuda.is_available() else "cpu"
                try:
                    processor = AutoProcessor.from_pretrained(
                        self.where, local_files_only=self.offline
                    )
                    model: Any = AutoModelForImageTextToText.from_pretrained(
                        self.where, local_files_only=self.offline
                    )
                except OSError as exc:
                    raise BackendNotConfigured(
                        f"backend 'transformers' cannot load {self.where!r}: {exc}; set "
                        "MMRAG_ANSWER_TRANSFORMERS_MODEL_PATH to a local model directory"
                    ) from None
                self._loaded = (processor, model.to(device).eval())
            return self._loaded

    def inputs(self, context: Context) -> Any:
        """Return the model inputs (token ids, and pixel values when pictures are given)."""
        processor, model = self._load()
        content: list[dict[str, str]] = []
        images: list[Image.Image] = []
        for part in user_parts(context, images=True):
            if part.image is not None:
                content.append({"type": "image"})
                images.append(Image.open(io.BytesIO(part.image)).convert("RGB"))
            else:
                content.append({"type": "text", "text": part.text or ""})
        messages = [
            {"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
            {"role": "user", "content": content},
        ]
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        batch = processor(text=[prompt], images=images or None, return_tensors="pt")
        return batch.to(model.device)

    def stream(self, context: Context) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        processor, model = self._load()
        batch = self.inputs(context)
        tokenizer = getattr(processor, "tokenizer", processor)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(**batch, streamer=streamer, max_new_tokens=self.max_new_tokens)
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                model.generate(**kwargs, do_sample=False)
            except BaseException as exc:  # surfaced in the caller's thread below
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=generate, name="vlm-generate", daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield piece
        thread.join()
        if failure:
            raise failure[0]
