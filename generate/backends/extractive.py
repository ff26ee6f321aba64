"""Extractive answers: quote the source sentences that best answer the question, with [n].

No generative weights, deterministic. Sentences come scored from :mod:`generate.evidence`
(semantic similarity to the question, lexical coverage, the source's retrieval rank and
heading fit; lexical only when the text space is off). The best sentence leads. Others join
from the same source when they come close to it, and from another source only when that
source is nearly as good and the sentence itself is as close to the question: each is
cited to its own source. Sentences keep their reading order within a source; the best
source comes first. Nothing quotable that relates to the question: decline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from generate.backends.base import DECLINE
from generate.context import Context
from generate.evidence import Evidence, SentenceEvidence, weigh
from generate.semantic import LEXICAL_ONLY
from generate.terms import terms
from mmrag.settings import Settings


@dataclass
class ExtractiveBackend:
    max_sentences: int = 3
    min_similarity: float = 0.25  # semantic: the best sentence must be at least this close
    min_score: float = 0.35  # lexical only: the scorer of old
    keep_ratio: float = 0.8  # a further sentence needs this share of the best one's similarity
    other_source_ratio: float = 0.95  # another source joins only this close to the best source
    complement_ratio: float = 0.85  # ... or this close when it says what the others do not
    name: str = "extractive"
    accepts_images: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractiveBackend:
        return cls(max_sentences=settings.answer_max_sentences)

    def stream(self, context: Context) -> Iterator[str]:
        chosen = self.select(context)
        if not chosen:
            yield DECLINE
            return
        for i, sentence in enumerate(chosen):
            yield (" " if i else "") + _cite(sentence.text, sentence.source)

    def select(self, context: Context) -> list[SentenceEvidence]:
        """Return the answer's sentences: best source first, reading order within each."""
        evidence = context.evidence or weigh(context, LEXICAL_ONLY)
        ranked = evidence.sentences
        if not ranked or not self._enough(evidence, ranked[0]):
            return []
        best = ranked[0]
        chosen = [best]
        missing = set(terms(context.question)) - set(terms(best.text))
        for candidate in ranked[1:]:
            if len(chosen) == self.max_sentences:
                break
            if candidate.text not in {c.text for c in chosen} and self._joins(
                evidence, best, candidate, missing
            ):
                chosen.append(candidate)
                missing -= set(terms(candidate.text))
        order = list(dict.fromkeys(c.source for c in chosen))
        return sorted(chosen, key=lambda c: (order.index(c.source), c.index))

    def _enough(self, evidence: Evidence, best: SentenceEvidence) -> bool:
        if evidence.semantic:
            return best.semantic >= self.min_similarity
        return best.score >= self.min_score

    def _joins(
        self, evidence: Evidence, best: SentenceEvidence, c: SentenceEvidence, missing: set[str]
    ) -> bool:
        """Return True when ``c`` adds to the answer that ``best`` leads.

        Another source's sentence adds when its source is nearly as good and it is as close
        to the question as the best sentence, or when its source is close and it says what
        the question asks that the chosen sentences do not (``missing``: question terms not
        covered yet).
        """
        if not evidence.semantic:  # lexical: the best source's close sentences only
            close = c.lexical >= self.keep_ratio * best.lexical
            return c.source == best.source and close and c.score >= self.keep_ratio * best.score
        if c.semantic < self.keep_ratio * best.semantic:
            return False
        if c.source == best.source:
            return True
        ratio = evidence.sources[c.source].score / max(evidence.sources[best.source].score, 1e-9)
        if c.semantic >= best.semantic and ratio >= self.other_source_ratio:
            return True
        return ratio >= self.complement_ratio and bool(missing & set(terms(c.text)))


def _cite(sentence: str, n: int) -> str:
    """Put ``[n]`` before the sentence's closing punctuation: "Debian uses dpkg [1]."."""
    stripped = sentence.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} [{n}]{stripped[-1]}"
    return f"{stripped} [{n}]"
