"""The text encoder the answer stage borrows from the text space: meaning, not only words.

The answer stage needs one thing from an embedding model: texts in, L2-normalised rows out
(:data:`Encode`). :class:`TextEncoder` carries that callable, or the reason there is none
(the text space is disabled), so the answer can say it fell back to lexical evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from mmrag.errors import MmragError

Encode = Callable[[Sequence[str]], NDArray[np.float32]]  # one normalised row per text


class _TextSpace(Protocol):
    def encode_texts(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class _Spaces(Protocol):
    def get(self, name: str) -> _TextSpace: ...


@dataclass(frozen=True)
class TextEncoder:
    """An :data:`Encode` callable, or why the answer stage has none (``missing``)."""

    encode: Encode | None
    missing: str | None = None

    @classmethod
    def from_spaces(cls, spaces: _Spaces) -> TextEncoder:
        """Return the text space's encoder; a disabled space gives its reason instead."""
        try:
            return cls(spaces.get("text").encode_texts)
        except MmragError as exc:  # SpaceUnavailable: disabled, not enabled, no weights
            return cls(None, exc.message)

    @property
    def degraded(self) -> str | None:
        """Return the line the answer reports when evidence is lexical only, else None."""
        if self.encode is not None:
            return None
        why = self.missing or "no text encoder was given"
        return f"answer evidence is lexical only (no semantic similarity): {why}"


LEXICAL_ONLY = TextEncoder(None)
