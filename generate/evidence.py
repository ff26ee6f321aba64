"""How well each source, and each of its sentences, answers the question.

One batched encode per answer embeds the question, each source's heading path and its
quotable sentences (:mod:`generate.quotable`). A source's score is

    score = w_sentence * best sentence similarity + w_top * mean of its top-2 similarities
          + w_heading * heading similarity + w_lexical * lexical coverage + w_rank / rank
          + w_passage * passage similarity

(similarities are cosines of normalised MiniLM rows; the passage's is the one the text
channel computed when it retrieved the hit, so it costs no encode; a source that only BM25
found gets its heading path + passage encoded in the same batch; lexical coverage is the
IDF-weighted share of the question's terms in the source, :mod:`generate.terms`). A
sentence's score adds its own similarity and coverage to its source's. The gate compares
the best source score with ``answer_min_semantic_evidence``. Without an encoder every
similarity is 0 and the lexical measure of old applies (``answer_min_evidence``). The
weights come from a grid over per-source features on bench/answer.py's PDF set (a manual
with its headings intact, paraphrased questions: heading fit weighs 0.3 there), checked on
its FAQ sets (headings hidden: there a lower lexical weight lost answers, so it stays); the
threshold from its held-out ``--calibrate`` (bench/README.md says how).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from generate.context import Context, Source
from generate.quotable import quotable, repeated_lines
from generate.semantic import TextEncoder
from generate.terms import coverage, idf, sentences, terms

_MAX_CHARS = 300  # of a sentence, encoded
_MAX_PASSAGE_CHARS = 1200  # of a passage: about the 256 tokens MiniLM reads


@dataclass(frozen=True)
class Weights:
    sentence: float = 0.45
    top: float = 0.15
    heading: float = 0.30
    lexical: float = 0.50
    rank: float = 0.10
    passage: float = 0.40  # question-passage cosine (the text channel's, else encoded here)
    encode_passages: bool = True  # a source the text channel did not score gets encoded
    own: float = 0.25  # a sentence's own similarity, on top of its source's score
    own_lexical: float = 0.2  # ... and its own lexical coverage
    # lexical only (no encoder): the extractive scorer of old
    lexical_sentence: float = 0.5
    lexical_source: float = 0.5
    lexical_rank: float = 1.0


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class SentenceEvidence:
    source: int  # the source's number
    index: int  # position in the source: reading order
    text: str
    semantic: float
    lexical: float
    score: float


@dataclass(frozen=True)
class SourceEvidence:
    n: int
    semantic: float  # best sentence similarity
    heading: float
    lexical: float
    score: float


@dataclass(frozen=True)
class Evidence:
    semantic: bool  # False: lexical only (no encoder)
    sources: dict[int, SourceEvidence]
    sentences: list[SentenceEvidence]  # quotable ones, best first
    vectors: dict[str, NDArray[np.float32]] = field(default_factory=dict, repr=False)

    @property
    def best(self) -> float:
        """Return the best source's score (0 with no sources)."""
        return max((s.score for s in self.sources.values()), default=0.0)

    @property
    def best_lexical(self) -> float:
        return max((s.lexical for s in self.sources.values()), default=0.0)

    @property
    def gate_score(self) -> float:
        """Return what the gate compares: the best score, or the best lexical coverage."""
        return self.best if self.semantic else self.best_lexical


def weigh(context: Context, encoder: TextEncoder, weights: Weights = DEFAULT_WEIGHTS) -> Evidence:
    """Return the evidence of every source and quotable sentence of ``context``."""
    texts = [s.text for s in context.sources]
    split = [sentences(t) or [t] for t in texts]
    repeated = repeated_lines(split) if len(split) > 1 else set()
    candidates = [
        [(i, x) for i, x in enumerate(per) if x not in repeated and quotable(x)] for per in split
    ]
    question = terms(context.question)
    found = [set(terms(t)) for t in texts]
    idf_weights = idf(question, found)
    vectors = _embed(context, candidates, encoder, weights)
    sources: dict[int, SourceEvidence] = {}
    scored: list[SentenceEvidence] = []
    for source, cands, words in zip(context.sources, candidates, found, strict=True):
        lexical = coverage(question, words, idf_weights)
        sims = [_sim(vectors, context.question, x) for _, x in cands]
        own_lex = [coverage(question, set(terms(x)), idf_weights) for _, x in cands]
        evidence = _source(source, sims, lexical, vectors, context.question, weights)
        sources[source.n] = evidence
        for (index, text), sim, lex in zip(cands, sims, own_lex, strict=True):
            if vectors:
                score = evidence.score + weights.own * sim + weights.own_lexical * lex
            elif lex > 0:
                score = evidence.score + weights.lexical_sentence * lex
            else:
                continue  # lexical only: a sentence sharing no term says nothing to the question
            scored.append(SentenceEvidence(source.n, index, text, sim, lex, score))
    scored.sort(key=lambda s: (-s.score, s.source, s.index))
    return Evidence(bool(vectors), sources, scored, vectors)


def _source(
    source: Source,
    sims: Sequence[float],
    lexical: float,
    vectors: dict[str, NDArray[np.float32]],
    question: str,
    w: Weights,
) -> SourceEvidence:
    if not vectors:
        score = w.lexical_source * lexical + w.lexical_rank / source.n
        return SourceEvidence(source.n, 0.0, 0.0, lexical, score)
    best = max(sims, default=0.0)
    top = sorted(sims, reverse=True)[:2]
    heading = _sim(vectors, question, _heading(source))
    score = (
        w.sentence * best
        + w.top * (sum(top) / len(top) if top else 0.0)
        + w.heading * heading
        + w.lexical * lexical
        + w.rank / source.n
        + w.passage * _passage_similarity(source, vectors, question)
    )
    return SourceEvidence(source.n, best, heading, lexical, score)


def _embed(
    context: Context,
    candidates: list[list[tuple[int, str]]],
    encoder: TextEncoder,
    weights: Weights,
) -> dict[str, NDArray[np.float32]]:
    """Return text -> normalised row, from one batched encode (empty without an encoder)."""
    if encoder.encode is None:
        return {}
    texts = [context.question, *(_heading(s) for s in context.sources)]
    texts += [x for cands in candidates for _, x in cands]
    # A passage is encoded whole (MiniLM reads its first ~256 tokens), only when the text
    # channel did not already score it against the question.
    whole = {_passage(s) for s in context.sources if "text" not in s.hit.channel_scores}
    if not weights.encode_passages:
        whole = set()
    # Sorted by length, batches pad little; a sentence's first ~60 tokens carry its meaning.
    unique = sorted({t for t in texts if t} | whole, key=len)
    rows = encoder.encode([t if t in whole else t[:_MAX_CHARS] for t in unique])
    return dict(zip(unique, rows, strict=True))


def _passage(source: Source) -> str:
    """Return what the text space embeds for ``source``: heading path, then the passage."""
    return f"{_heading(source)}\n{source.text[:_MAX_PASSAGE_CHARS]}"


def _passage_similarity(
    source: Source, vectors: dict[str, NDArray[np.float32]], question: str
) -> float:
    """Return the question-passage cosine: the text channel's, else one encoded here."""
    found = source.hit.channel_scores.get("text")
    return found if found is not None else _sim(vectors, question, _passage(source))


def _heading(source: Source) -> str:
    """Return the heading path of ``source`` ("Manual > Install > Offline"), or ""."""
    return source.segment.locator.section or ""


def _sim(vectors: dict[str, NDArray[np.float32]], a: str, b: str) -> float:
    if a not in vectors or b not in vectors:
        return 0.0
    return float(np.dot(vectors[a], vectors[b]))
