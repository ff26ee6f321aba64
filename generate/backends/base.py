"""What every answer backend is: a name, whether it takes pictures, and a token stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from generate.context import Context

# What a backend says instead of an answer when its sources do not answer the question.
DECLINE = "NO_ANSWER"


class AnswerBackend(Protocol):
    name: str
    accepts_images: bool

    def stream(self, context: Context) -> Iterator[str]:
        """Yield the answer's text in pieces; ``[n]`` markers cite ``context`` sources.

        The whole answer is :data:`DECLINE` when the sources do not answer the question.
        Errors reaching a server raise :class:`generate.errors.BackendUnavailable` or
        :class:`generate.errors.BackendTimeout`.
        """
        ...
