"""Figures of bench/answer.py from per-question outcomes: precision, recall, abstention,
where answers were lost, and the held-out calibration of the gate threshold.

Every question is answered once with the gate open; a threshold is applied afterwards
(:meth:`Outcome.abstains`), so several thresholds cost no extra answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

UNANSWERABLE_KINDS = ("off-topic", "near-topic")


@dataclass(frozen=True)
class Outcome:
    """One question answered with the gate open: what a threshold then decides."""

    group: str  # corpus of an answerable question, or "off-topic" / "near-topic"
    gate_score: float
    declined: bool  # the backend itself found no answer
    given: bool  # a relevant source was in the context (answerable only)
    marks: tuple[bool, ...]  # per citation: is its source relevant
    unsupported: int
    seconds: float

    def abstains(self, threshold: float) -> bool:
        return self.declined or self.gate_score < threshold


@dataclass(frozen=True)
class Figures:
    threshold: float
    citation_precision: float
    answer_recall: float
    abstention_unanswerable: float
    abstention_off_topic: float
    abstention_near_topic: float
    retrieval_ceiling: float
    precision_within_ceiling: float
    recall_within_ceiling: float
    abstained_answerable: float
    losses: dict[str, dict[str, int]]
    citations: int
    unsupported: int
    answerable: int
    unanswerable: int
    seconds_per_answer: float


def figures(results: Sequence[Outcome], threshold: float) -> Figures:
    """Return the figures of ``results`` when the gate refuses below ``threshold``."""
    answerable = [o for o in results if o.group not in UNANSWERABLE_KINDS]
    answered = [o for o in answerable if not o.abstains(threshold)]
    in_ceiling = [o for o in answerable if o.given]
    answered_in = [o for o in in_ceiling if not o.abstains(threshold)]
    marks = [m for o in answered for m in o.marks]
    marks_in = [m for o in answered_in for m in o.marks]
    rates = {
        kind: _ratio(
            sum(o.abstains(threshold) for o in results if o.group == kind),
            sum(o.group == kind for o in results),
        )
        for kind in UNANSWERABLE_KINDS
    }
    unanswerable = [o for o in results if o.group in UNANSWERABLE_KINDS]
    return Figures(
        threshold=threshold,
        citation_precision=_ratio(sum(marks), len(marks)),
        answer_recall=_ratio(sum(any(o.marks) for o in answered), len(answerable)),
        abstention_unanswerable=_ratio(
            sum(o.abstains(threshold) for o in unanswerable), len(unanswerable)
        ),
        abstention_off_topic=rates["off-topic"],
        abstention_near_topic=rates["near-topic"],
        retrieval_ceiling=_ratio(len(in_ceiling), len(answerable)),
        precision_within_ceiling=_ratio(sum(marks_in), len(marks_in)),
        recall_within_ceiling=_ratio(sum(any(o.marks) for o in answered_in), len(in_ceiling)),
        abstained_answerable=_ratio(len(answerable) - len(answered), len(answerable)),
        losses=losses(answerable, threshold),
        citations=len(marks),
        unsupported=sum(o.unsupported for o in answered),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        seconds_per_answer=_ratio(sum(o.seconds for o in results), len(results)),
    )


def losses(answerable: Sequence[Outcome], threshold: float) -> dict[str, dict[str, int]]:
    """Return, per corpus, where answerable questions were lost (and how many were found)."""
    table: dict[str, dict[str, int]] = {}
    for o in answerable:
        row = table.setdefault(
            o.group,
            dict.fromkeys(("questions", "found", "not retrieved", "refused", "wrong source"), 0),
        )
        row["questions"] += 1
        if not o.given:
            row["not retrieved"] += 1
        elif o.abstains(threshold):
            row["refused"] += 1
        elif any(o.marks):
            row["found"] += 1
        else:
            row["wrong source"] += 1
    return table


def calibrate(results: Sequence[Outcome]) -> list[dict[str, object]]:
    """Choose the gate threshold on the other corpora, report on each held-out one in turn."""
    corpora = sorted({o.group for o in results if o.group not in UNANSWERABLE_KINDS})
    unanswerable = [o for o in results if o.group in UNANSWERABLE_KINDS]
    halves = (unanswerable[0::2], unanswerable[1::2])
    folds = []
    for i, held_out in enumerate(corpora):
        fit = [o for o in results if o.group not in UNANSWERABLE_KINDS and o.group != held_out]
        test = [o for o in results if o.group == held_out]
        threshold = _youden(fit, halves[i % 2])
        folds.append(
            {
                "calibrated on": "+".join(sorted({o.group for o in fit})),
                "held out": held_out,
                "threshold": round(threshold, 3),
                "held-out": asdict(figures([*test, *halves[1 - i % 2]], threshold)),
            }
        )
    return folds


def _youden(answerable: Sequence[Outcome], unanswerable: Sequence[Outcome]) -> float:
    """Return the threshold with the largest (answered-and-found rate + abstention rate)."""
    candidates = sorted({round(o.gate_score + 1e-3, 3) for o in [*answerable, *unanswerable]})

    def j(t: float) -> float:
        found = sum(any(o.marks) and not o.abstains(t) for o in answerable) / len(answerable)
        return found + sum(o.abstains(t) for o in unanswerable) / len(unanswerable)

    return max(candidates, key=lambda t: (j(t), -t))


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")
