"""Optional reranker: a cross-encoder reorders the fused top N before hydration.

Off unless ``rerank_model`` names a sentence-transformers ``CrossEncoder`` (hub id or local
directory). It loads once, on first use; a model that cannot load disables the reranker
with the reason and the setting that fixes it, reported like a disabled space (``/readyz``,
a search's ``degraded``). A checkpoint whose weights do not cover the model (a plain
encoder without its scoring head: transformers would initialise the head at random) is
refused, never used: random weights are not a reranker.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from index.spaces.hub import downloads_allowed, missing_model
from mmrag.errors import MmragError
from mmrag.settings import Settings


class Scorer(Protocol):
    def predict(self, pairs: list[tuple[str, str]]) -> Sequence[float]:
        """Return one relevance score per (query, passage) pair; higher is better."""
        ...


class RerankerUnavailable(MmragError):
    status = 503
    code = "reranker_disabled"


@dataclass
class Reranker:
    """The cross-encoder of one process: loaded once, its failure remembered."""

    settings: Settings
    loader: Callable[[Settings], Scorer] = field(default=lambda s: load_cross_encoder(s))
    _scorer: Scorer | None = field(default=None, init=False)
    _failure: str | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def enabled(self) -> bool:
        return bool(self.settings.rerank_model)

    def scorer(self) -> Scorer:
        """Return the loaded cross-encoder; RerankerUnavailable (with the reason) if it failed."""
        with self._lock:
            if self._scorer is None and self._failure is None:
                try:
                    self._scorer = self.loader(self.settings)
                except RerankerUnavailable as exc:
                    logging.getLogger(__name__).warning("reranker disabled: %s", exc.message)
                    self._failure = exc.message
            if self._scorer is None:
                raise RerankerUnavailable(self._failure or "reranker not loaded")
            return self._scorer

    def status(self) -> dict[str, object]:
        """Return the reranker's state as /readyz reports it (off, up, or disabled and why)."""
        if not self.enabled:
            return {"up": False, "state": "off", "reason": "no MMRAG_RERANK_MODEL set"}
        try:
            self.scorer()
        except RerankerUnavailable as exc:
            return {"up": False, "state": "disabled", "reason": exc.message}
        return {"up": True, "model": self.settings.rerank_model}

    def order(self, query: str, passages: Sequence[tuple[str, str]]) -> list[tuple[str, float]]:
        """Return (id, score) of ``passages`` ((id, text) pairs) best first by the model."""
        if not passages:
            return []
        scores = self.scorer().predict([(query, text) for _, text in passages])
        ranked = sorted(zip(passages, scores, strict=True), key=lambda pair: -float(pair[1]))
        return [(item, float(score)) for (item, _), score in ranked]


def load_cross_encoder(settings: Settings) -> Scorer:
    """Load ``rerank_model``; RerankerUnavailable naming the setting when it cannot be used."""
    from sentence_transformers import CrossEncoder

    source = str(settings.rerank_model)
    local_only = Path(source).is_dir() or not downloads_allowed(settings)
    fix = "set MMRAG_RERANK_MODEL to a cross-encoder's hub id or local directory, or unset it"
    with _random_init_watch() as watch:
        try:
            model = CrossEncoder(source, device="cpu", local_files_only=local_only)
        except (OSError, ValueError) as exc:
            if local_only and not Path(source).is_dir():
                raise RerankerUnavailable(
                    missing_model(f"reranker {source}", fix, settings)
                ) from exc
            raise RerankerUnavailable(f"reranker {source!r} could not be loaded: {exc}") from exc
    if watch.newly_initialised:
        raise RerankerUnavailable(
            f"reranker {source!r} lacks trained weights for {watch.newly_initialised}: it is "
            f"not a cross-encoder checkpoint; {fix}"
        )
    return model


class _InitWatch(logging.Handler):
    """Catches transformers' warning that some weights were newly (randomly) initialised."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.newly_initialised = ""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "newly initialized" in message or "were not initialized" in message:
            missing = re.findall(r"^\s*([\w.]+)\s*\|\s*MISSING", message, re.MULTILINE)
            self.newly_initialised = ", ".join(missing)[:200] or "some of its layers"


class _random_init_watch:  # a context manager: named like one
    def __enter__(self) -> _InitWatch:
        self.handler = _InitWatch()
        self.logger = logging.getLogger("transformers.modeling_utils")
        self.logger.addHandler(self.handler)
        return self.handler

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
