"""Backends by name: built on first use, kept for the life of the process."""

from __future__ import annotations

import threading
from collections.abc import Callable

from generate.backends.base import AnswerBackend
from mmrag.errors import BadInput
from mmrag.settings import Settings


def _extractive(settings: Settings) -> AnswerBackend:
    from generate.backends.extractive import ExtractiveBackend

    return ExtractiveBackend.from_settings(settings)


def _transformers(settings: Settings) -> AnswerBackend:
    from generate.backends.transformers import TransformersBackend

    return TransformersBackend(settings)


def _openai(settings: Settings) -> AnswerBackend:
    from generate.backends.openai import OpenAIBackend

    return OpenAIBackend(settings)


FACTORIES: dict[str, Callable[[Settings], AnswerBackend]] = {
    "extractive": _extractive,
    "transformers": _transformers,
    "openai": _openai,
}


def check_name(name: str) -> str:
    """Return ``name`` if it is a known backend; raise BadInput naming the known ones."""
    if name not in FACTORIES:
        raise BadInput(
            f"unknown backend {name!r}; known: {', '.join(FACTORIES)}", code="unknown_backend"
        )
    return name


class BackendRegistry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[str, AnswerBackend] = {}
        self._lock = threading.Lock()

    def get(self, name: str | None = None) -> AnswerBackend:
        """Return the named backend (default: the ``answer_backend`` setting)."""
        name = check_name(name or self.settings.answer_backend)
        with self._lock:
            if name not in self._built:
                self._built[name] = FACTORIES[name](self.settings)
            return self._built[name]
