"""Citations in an answer: parse ``[n]`` markers, drop unknown ones, check each sentence.

A marker may list several sources (``[1, 3]``) or repeat (``[1][3]``). Numbers that name no
given source are removed from the text and reported. Every sentence that cites is checked
against its sources: the IDF-weighted share of its terms found in the best cited source is
its *support*; below the threshold it is flagged. A sentence with several content words and
no citation is flagged too: every claim should say where it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from generate.context import Source
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


def check_citations(raw: str, sources: Sequence[Source], threshold: float) -> CheckedAnswer:
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
    weights = idf(
        (t for s in sources for t in terms(s.text)), [set(terms(s.text)) for s in sources]
    )
    unsupported: list[Unsupported] = []
    said: dict[int, list[str]] = {}
    for sentence in sentences(_MARKER_AFTER_END.sub(r"\2\1", text)):
        cited = list(dict.fromkeys(n for m in MARKER.findall(sentence) for n in numbers(m)))
        claim = MARKER.sub("", sentence).strip()
        wanted = terms(claim)
        if not cited:
            if len(set(wanted)) >= _MIN_CLAIM_TERMS:
                unsupported.append(Unsupported(claim, [], 0.0, "no citation"))
            continue
        for n in cited:
            said.setdefault(n, []).append(claim)
        support = max(coverage(wanted, set(terms(known[n].text)), weights) for n in cited)
        if wanted and support < threshold:
            unsupported.append(Unsupported(claim, cited, round(support, 3), "not in the source"))
    citations = [Citation(n, known[n], _quote(known[n], said[n])) for n in said]
    return CheckedAnswer(text, citations, unsupported, dropped)


def _quote(source: Source, claims: list[str]) -> str:
    """Return the sentence of ``source`` that shares most terms with ``claims``."""
    wanted = set(terms(" ".join(claims)))
    candidates = sentences(source.text) or [source.text]
    best = max(candidates, key=lambda s: (len(wanted & set(terms(s))), -candidates.index(s)))
    return best
