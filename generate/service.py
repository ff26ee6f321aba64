"""The ask use case that the API and the CLI both run: question -> search -> grounded answer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from generate.answer import Answer, answer_stream, check_question
from generate.backends.registry import BackendRegistry
from generate.semantic import TextEncoder
from mmrag.blobs import BlobStore
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings
from retrieve import service
from retrieve.request import QueryIn, SearchIn
from retrieve.search import Retriever


@dataclass(frozen=True)
class Asking:
    """An answer under way: the checked question, the answer's pieces, degraded channels."""

    question: str
    events: Iterator[str | Answer]
    degraded: list[str]


@dataclass(frozen=True)
class Answerer:
    """What answering reads: the catalog and blobs, the retriever, the answer backends."""

    settings: Settings
    catalog: Catalog
    blobs: BlobStore
    retriever: Retriever
    backends: BackendRegistry

    def ask(
        self,
        question: str,
        request: SearchIn,
        backend: str | None = None,
        image: bytes | None = None,
        audio: bytes | None = None,
    ) -> Asking:
        """Check the question, search with it as ``request``'s text, start the answer.

        Nothing is produced until ``events`` is read; a bad question, an unknown backend or
        a refused search raise here, before any piece.
        """
        text = check_question(question, self.settings)
        chosen = self.backends.get(backend)
        search = request.model_copy(update={"query": QueryIn(text=text)})
        result = service.search(self.catalog, self.retriever, self.settings, search, image, audio)
        encoder = TextEncoder.from_spaces(self.retriever.sources.spaces)  # loaded by the search
        events = answer_stream(
            text, result.hits, chosen, self.settings, self._media, image, encoder
        )
        return Asking(text, events, result.degraded)

    def _media(self, key: str) -> bytes:
        with self.blobs.open(key) as stream:
            return stream.read()
