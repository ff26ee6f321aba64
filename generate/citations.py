"""Citations in an answer: parse ``[n]`` markers, drop unknown ones, check each sentence.

A marker may list several sources (``[1, 3]``) or repeat (``[1][3]``). Numbers that name no
given source are removed from the text and reported. Every sentence that cites is checked
against its sources, the same way for every backend: its *support* in a source is the mean
of the IDF-weighted share of its terms found there and its best cosine similarity to one of
the source's sentences (the evidence's MiniLM rows; lexical share alone without an
encoder); the best cited source counts, and below the threshold the sentence is flagged. A
sentence with several content words and no citation is flagged too: every claim should say
where it comes from. A marker set apart from its sentence ("... . . . [1].") still belongs
to the sentence before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from generate.context import Source
from generate.evidence import Evidence
from generate.semantic import LEXICAL_ONLY, TextEncoder
from generate.terms import coverage, idf, sentences, terms

MARKER = re.compile(r"\s?\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKER_AFTER_END = re.compile(r"([.!?])((?:\s?\[\d+(?:\s*[,;]\s*\d+)*\])+)")
_MIN_CLAIM_TERMS = 3


@dataclass(frozen=True)
class Citation:
    n: int
    source: Source
    quote: str  # the source sentence that best matches what the answer says with it


@dataclass(frozen=True)
class Unsupported:
    sentence: str
    cited: list[int]
    support: float
    reason: str


@dataclass(frozen=True)
class CheckedAnswer:
    text: str
    citations: list[Citation]
    unsupported: list[Unsupported]
    dropped: list[int]  # cited numbers that name no given source, in order of appearance


def numbers(marker: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", marker)]


def check_citations(
    raw: str,
    sources: Sequence[Source],
    threshold: float,
    evidence: Evidence | None = None,
    encoder: TextEncoder = LEXICAL_ONLY,
) -> CheckedAnswer:
    """Return the answer with unknown markers removed, its citations and flagged sentences."""
    known = {s.n: s for s in sources}
    dropped: list[int] = []

    def keep_known(match: re.Match[str]) -> str:
        cited = numbers(match.group(1))
        dropped.extend(n for n in cited if n not in known and n not in dropped)
        kept = [n for n in cited if n in known]
        lead = match.group(0)[: len(match.group(0)) - len(match.group(0).lstrip())]
        return f"{lead}[{', '.join(map(str, kept))}]" if kept else ""

    text = MARKER.sub(keep_known, raw).strip()
    claims = _claims(text)
    support = _Support(sources, [MARKER.sub("", c).strip() for c in claims], evidence, encoder)
    unsupported: list[Unsupported] = []
    said: dict[int, list[str]] = {}
    for sentence in claims:
        cited = list(dict.fromkeys(n for m in MARKER.findall(sentence) for n in numbers(m)))
        claim = MARKER.sub("", sentence).strip()
        wanted = terms(claim)
        if not cited:
            if len(set(wanted)) >= _MIN_CLAIM_TERMS:
                unsupported.append(Unsupported(claim, [], 0.0, "no citation"))
            continue
        for n in cited:
            said.setdefault(n, []).append(claim)
        best = max(support.of(claim, known[n]) for n in cited)
        if wanted and best < threshold:
            unsupported.append(Unsupported(claim, cited, round(best, 3), "not in the source"))
    citations = [Citation(n, known[n], support.quote(known[n], said[n])) for n in said]
    return CheckedAnswer(text, citations, unsupported, dropped)


def _claims(text: str) -> list[str]:
    """Split ``text`` into sentences, each with the markers that follow it."""
    pieces: list[str] = []
    for piece in sentences(_MARKER_AFTER_END.sub(r"\2\1", text)):
        bare = MARKER.sub("", piece).strip(" .!?;:,…")
        if pieces and (not bare or not terms(bare)) and MARKER.search(piece):
            pieces[-1] = f"{pieces[-1]} {piece}"  # "... . . . [1]." : markers set apart
        else:
            pieces.append(piece)
    return pieces


class _Support:
    """Support of claims in sources: lexical share, with semantic similarity when encoded."""

    def __init__(
        self,
        sources: Sequence[Source],
        claims: list[str],
        evidence: Evidence | None,
        encoder: TextEncoder,
    ) -> None:
        self.weights = idf(
            (t for s in sources for t in terms(s.text)), [set(terms(s.text)) for s in sources]
        )
        self.vectors: dict[str, NDArray[np.float32]] = dict(evidence.vectors) if evidence else {}
        self.by_source: dict[int, list[str]] = {}
        for sentence in evidence.sentences if evidence else []:
            self.by_source.setdefault(sentence.source, []).append(sentence.text)
        fresh = [c for c in dict.fromkeys(claims) if c and c not in self.vectors]
        if encoder.encode is not None and self.by_source and fresh:
            self.vectors.update(zip(fresh, encoder.encode(fresh), strict=True))

    def of(self, claim: str, source: Source) -> float:
        """Return how well ``source`` backs ``claim`` (0..1)."""
        lexical = coverage(terms(claim), set(terms(source.text)), self.weights)
        semantic = self._similarity(claim, self.by_source.get(source.n, []))
        return lexical if semantic is None else (lexical + max(semantic, 0.0)) / 2

    def quote(self, source: Source, claims: list[str]) -> str:
        """Return the sentence of ``source`` that best matches what ``claims`` say."""
        candidates = sentences(source.text) or [source.text]
        wanted = set(terms(" ".join(claims)))

        def closeness(s: str) -> tuple[float, int, int]:
            semantic = self._similarity(s, claims) if s in self.vectors else None
            return (semantic or 0.0, len(wanted & set(terms(s))), -candidates.index(s))

        return max(candidates, key=closeness)

    def _similarity(self, text: str, others: Sequence[str]) -> float | None:
        row = self.vectors.get(text)
        rows = [self.vectors[o] for o in others if o in self.vectors]
        if row is None or not rows:
            return None
        return float(np.max(np.stack(rows) @ row))
