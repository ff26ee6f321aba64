"""Question + hits -> a grounded answer: context, evidence gate, backend, checked citations.

:func:`answer_stream` yields the answer's text as the backend produces it, then one
:class:`Answer`. It weighs the sources once (:mod:`generate.evidence`: semantic similarity
with the text space's encoder, lexical coverage, rank, heading fit) and abstains, without
calling the backend, when no source answers well enough (``answer_min_semantic_evidence``;
``answer_min_evidence`` when evidence is lexical only, which ``degraded`` then says); and
when the backend declines. A backend's "decline" word is held back from the token stream,
so a client never sees it as text. A backend that returns nothing failed: it is an error.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from generate.backends.base import DECLINE, AnswerBackend
from generate.citations import Citation, Unsupported, check_citations
from generate.context import Context, MediaLoader, Source, build_context
from generate.errors import BackendUnavailable
from generate.evidence import DEFAULT_WEIGHTS, Evidence, Weights, weigh
from generate.semantic import LEXICAL_ONLY, TextEncoder
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
    degraded: list[str] = field(default_factory=list)  # e.g. evidence fell back to lexical


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


def answer_stream(
    question: str,
    hits: Sequence[Hit],
    backend: AnswerBackend,
    settings: Settings,
    load_media: MediaLoader | None = None,
    question_image: bytes | None = None,
    encoder: TextEncoder = LEXICAL_ONLY,
    weights: Weights = DEFAULT_WEIGHTS,
) -> Iterator[str | Answer]:
    """Yield pieces of the answer text, then the :class:`Answer` (always last).

    ``encoder`` is the text space's (:meth:`TextEncoder.from_spaces`); without one the
    evidence is lexical and the answer's ``degraded`` says so. ``weights``: of the evidence
    score (bench/answer.py compares scorers with them).
    """
    context = build_context(
        question,
        hits,
        budget_tokens=settings.answer_context_tokens,
        image_tokens=settings.answer_image_tokens,
        max_images=settings.answer_max_images if backend.accepts_images else 0,
        load_media=load_media,
        question_image=question_image,
    )
    weighed = weigh(context, encoder, weights)
    context = replace(context, evidence=weighed)
    base = {"backend": backend.name, "sources": context.sources, "left_out": context.left_out,
            "evidence": round(weighed.gate_score, 3),
            "degraded": [encoder.degraded] if encoder.degraded else []}  # fmt: skip
    gate = _gate(context, weighed, settings)
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
    checked = check_citations(
        raw, context.sources, settings.answer_support_threshold, weighed, encoder
    )
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
    encoder: TextEncoder = LEXICAL_ONLY,
    weights: Weights = DEFAULT_WEIGHTS,
) -> Answer:
    """Return the whole answer (the last item of :func:`answer_stream`)."""
    return final_answer(
        answer_stream(
            question, hits, backend, settings, load_media, question_image, encoder, weights
        )
    )


def final_answer(events: Iterable[str | Answer]) -> Answer:
    """Consume an answer stream; return its closing :class:`Answer`."""
    (last,) = deque(events, maxlen=1)
    assert isinstance(last, Answer), "an answer stream ends with its Answer"
    return last


def _gate(context: Context, evidence: Evidence, settings: Settings) -> str | None:
    """Return why the backend should not be asked at all, or None."""
    if not context.sources:
        return "retrieval found no sources for the question"
    if context.images or context.question_image is not None:
        return None  # pictures can answer what text does not say; the backend judges them
    if evidence.semantic:
        if evidence.gate_score < settings.answer_min_semantic_evidence:
            return (
                f"retrieval evidence is too weak: the best source scores "
                f"{evidence.gate_score:.2f} "
                "(meaning, terms and rank), below answer_min_semantic_evidence "
                f"{settings.answer_min_semantic_evidence:.2f}"
            )
        return None
    if evidence.gate_score < settings.answer_min_evidence:
        return (
            f"retrieval evidence is too weak: the best source covers "
            f"{evidence.gate_score:.2f} of the question's terms, below "
            f"answer_min_evidence {settings.answer_min_evidence:.2f}"
        )
    return None
