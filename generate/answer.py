"""Question + hits -> a grounded answer: context, evidence gate, backend, checked citations.

:func:`answer_stream` yields the answer's text as the backend produces it, then one
:class:`Answer`. It abstains, without calling the backend, when no source covers enough of
the question (``answer_min_evidence``); and when the backend declines. A backend's
"decline" word is held back from the token stream, so a client never sees it as text.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from generate.backends.base import DECLINE, AnswerBackend
from generate.citations import Citation, Unsupported, check_citations
from generate.context import Context, MediaLoader, Source, build_context
from generate.errors import BackendUnavailable
from generate.terms import coverage, idf, terms
from mmrag.domain import Hit
from mmrag.errors import BadInput
from mmrag.settings import Settings


@dataclass(frozen=True)
class Answer:
    text: str
    backend: str
    sources: list[Source]
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    reason: str | None = None
    evidence: float = 0.0
    unsupported: list[Unsupported] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    left_out: int = 0


def check_question(question: str, settings: Settings) -> str:
    """Return the stripped question; raise BadInput when it is empty or too long."""
    text = question.strip()
    if not text:
        raise BadInput("the question is empty", code="empty_question")
    if len(text) > settings.answer_max_question_chars:
        raise BadInput(
            f"the question is {len(text)} characters long; the limit is "
            f"{settings.answer_max_question_chars} (MMRAG_ANSWER_MAX_QUESTION_CHARS)",
            code="question_too_long",
        )
    return text


def evidence(context: Context) -> float:
    """Return the IDF-weighted share of the question's terms in the best-covering source."""
    question = terms(context.question)
    found = [set(terms(s.text)) for s in context.sources]
    weights = idf(question, found)
    return max((coverage(question, f, weights) for f in found), default=0.0)


def answer_stream(
    question: str,
    hits: Sequence[Hit],
    backend: AnswerBackend,
    settings: Settings,
    load_media: MediaLoader | None = None,
    question_image: bytes | None = None,
) -> Iterator[str | Answer]:
    """Yield pieces of the answer text, then the :class:`Answer` (always last)."""
    context = build_context(
        question,
        hits,
        budget_tokens=settings.answer_context_tokens,
        image_tokens=settings.answer_image_tokens,
        max_images=settings.answer_max_images if backend.accepts_images else 0,
        load_media=load_media,
        question_image=question_image,
    )
    score = evidence(context)
    base = {"backend": backend.name, "sources": context.sources, "evidence": round(score, 3),
            "left_out": context.left_out}  # fmt: skip
    gate = _gate(context, score, settings)
    if gate is not None:
        yield Answer("", abstained=True, reason=gate, **base)  # type: ignore[arg-type]
        return
    parts: list[str] = []
    holding = True  # until the text can no longer be the decline word
    for piece in backend.stream(context):
        parts.append(piece)
        if not holding:
            yield piece
            continue
        so_far = "".join(parts).strip()
        if DECLINE.startswith(so_far) and so_far != DECLINE:
            continue
        holding = False
        if so_far != DECLINE:
            yield "".join(parts)
    raw = "".join(parts).strip()
    if not raw:  # a model that says nothing failed; it did not judge the sources
        raise BackendUnavailable(f"backend '{backend.name}' returned an empty answer")
    if raw == DECLINE:
        reason = f"backend '{backend.name}' found no answer to the question in the sources"
        yield Answer("", abstained=True, reason=reason, **base)  # type: ignore[arg-type]
        return
    checked = check_citations(raw, context.sources, settings.answer_support_threshold)
    yield Answer(
        checked.text,
        citations=checked.citations,
        unsupported=checked.unsupported,
        dropped=checked.dropped,
        **base,  # type: ignore[arg-type]
    )


def answer(
    question: str,
    hits: Sequence[Hit],
    backend: AnswerBackend,
    settings: Settings,
    load_media: MediaLoader | None = None,
    question_image: bytes | None = None,
) -> Answer:
    """Return the whole answer (the last item of :func:`answer_stream`)."""
    return final_answer(
        answer_stream(question, hits, backend, settings, load_media, question_image)
    )


def final_answer(events: Iterable[str | Answer]) -> Answer:
    """Consume an answer stream; return its closing :class:`Answer`."""
    (last,) = deque(events, maxlen=1)
    assert isinstance(last, Answer), "an answer stream ends with its Answer"
    return last


def _gate(context: Context, score: float, settings: Settings) -> str | None:
    """Return why the backend should not be asked at all, or None."""
    if not context.sources:
        return "retrieval found no sources for the question"
    if context.images or context.question_image is not None:
        return None  # pictures can answer what text does not say; the backend judges them
    if score < settings.answer_min_evidence:
        return (
            f"retrieval evidence is too weak: the best source covers {score:.2f} of the "
            f"question's terms, below answer_min_evidence {settings.answer_min_evidence:.2f}"
        )
    return None
