"""Extractive answers: quote the source sentences that best cover the question, with [n].

No weights, deterministic. Terms are stemmed content words weighted by IDF over the given
sources (a question term that no source has weighs most, so an off-topic question scores
low). A sentence's score adds how much of the question it covers itself, how much its
source covers, and its source's retrieval rank (1 / rank: fusion of BM25 and the dense
channel knows paraphrases that term overlap misses; bench/answer.py measured citation
precision 0.27 -> 0.43 from it). The best sentence leads; others from the same source join
when they come close to it, so citations stay on the one source that answers. No sentence
shares a term with the question: decline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from generate.backends.base import DECLINE
from generate.context import Context, Source
from generate.terms import coverage, idf, sentences, terms
from mmrag.settings import Settings

_MIN_SENTENCE_TERMS = 3  # "Item 5.", "Yes." and the like say nothing on their own


@dataclass(frozen=True)
class Candidate:
    score: float
    own: float  # share of the question this sentence covers
    source: Source
    index: int
    text: str


@dataclass
class ExtractiveBackend:
    max_sentences: int = 3
    min_score: float = 0.35
    keep_ratio: float = 0.8  # a further sentence needs this share of the best one's scores
    sentence_weight: float = 0.5  # the sentence's own coverage of the question...
    source_weight: float = 0.5  # ...its source's coverage...
    rank_weight: float = 1.0  # ...and its source's retrieval rank (1 / rank)
    same_source: bool = True  # answer from the best sentence's source only
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
        for i, candidate in enumerate(chosen):
            yield (" " if i else "") + _cite(candidate.text, candidate.source.n)

    def select(self, context: Context) -> list[Candidate]:
        """Return the sentences of the answer in reading order (source, then position)."""
        ranked = sorted(self._candidates(context), key=lambda c: (-c.score, c.source.n, c.index))
        if not ranked or ranked[0].score < self.min_score:
            return []
        best = ranked[0]
        chosen = [best]
        if self.same_source:
            ranked = [c for c in ranked if c.source.n == best.source.n]
        for c in ranked[1:]:
            if len(chosen) == self.max_sentences:
                break
            close = c.own >= self.keep_ratio * best.own and c.score >= self.keep_ratio * best.score
            if close and c.text not in {x.text for x in chosen}:
                chosen.append(c)
        return sorted(chosen, key=lambda c: (c.source.n, c.index))

    def _candidates(self, context: Context) -> list[Candidate]:
        question = terms(context.question)
        by_source = {s.n: set(terms(s.text)) for s in context.sources}
        weights = idf(question, list(by_source.values()))
        found = []
        for source in context.sources:
            whole = coverage(question, by_source[source.n], weights)
            for index, sentence in enumerate(sentences(source.text)):
                own_terms = set(terms(sentence))
                if len(own_terms) < _MIN_SENTENCE_TERMS:
                    continue
                own = coverage(question, own_terms, weights)
                if own == 0:
                    continue
                score = (
                    self.sentence_weight * own
                    + self.source_weight * whole
                    + self.rank_weight / source.n
                )
                found.append(Candidate(score, own, source, index, sentence))
        return found


def _cite(sentence: str, n: int) -> str:
    """Put ``[n]`` before the sentence's closing punctuation: "Debian uses dpkg [1]."."""
    stripped = sentence.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} [{n}]{stripped[-1]}"
    return f"{stripped} [{n}]"
