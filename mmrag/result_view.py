"""How ``mmrag search`` and ``mmrag ask`` print results, the same whether the results were
computed in this process or came from a server (``--url``, or the data dir's running one)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from mmrag.domain import Locator

WHERE_WIDTH = 18  # "page=12 t=1.5-3s" fits; a long section name is cut


@dataclass(frozen=True)
class HitRow:
    """One hit as printed: its channels map a channel's name to (rank, score)."""

    score: float
    modality: str
    document_id: str
    locator: Locator
    text: str
    channels: dict[str, tuple[int, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRow:
    """One numbered source of an answer as printed."""

    n: int
    cited: bool
    document_id: str
    where: str
    link: str


def hits_table(hits: Sequence[HitRow], explain: bool, *, full: bool = False) -> Table:
    """Return the hits as a table: rank, score, modality, document, where, text.

    Every column but the text keeps to one line; the text takes the rest of the width,
    cut with an ellipsis (``full``: wrapped whole), so a hit is one row at 80 columns.
    ``explain`` adds, under each text, the hit's rank and score in every channel.
    """
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("#", "score", "modality", "document"):
        table.add_column(name, no_wrap=True)
    table.add_column("where", no_wrap=True, max_width=WHERE_WIDTH, overflow="ellipsis")
    # Wrapable, so the table narrows it first; each cell's Text then keeps it to one line.
    table.add_column("text (channel:rank/score)" if explain else "text", min_width=16)
    for rank, hit in enumerate(hits, start=1):
        cells = [str(rank), f"{hit.score:.4f}", hit.modality, hit.document_id[:12]]
        text = Text(" ".join(hit.text.split()), no_wrap=not full)
        text.overflow = "fold" if full else "ellipsis"
        body: RenderableType = Group(text, _channels(hit)) if explain else text
        table.add_row(*(Text(cell) for cell in cells), describe_where(hit.locator), body)
    return table


def _channels(hit: HitRow) -> Text:
    ranks = (f"{name}:{rank}/{score:.3f}" for name, (rank, score) in hit.channels.items())
    return Text(" ".join(ranks), style="dim", overflow="fold")


def describe_where(locator: Locator) -> str:
    """Return a short "where": page, time range, section; character offsets as a last resort."""
    parts = []
    if locator.page is not None:
        parts.append(f"page={locator.page}")
    if locator.start_s is not None:
        end = locator.end_s if locator.end_s is not None else locator.start_s
        parts.append(f"t={locator.start_s:g}-{end:g}s")
    if locator.section:
        parts.append(locator.section)
    if not parts and locator.char_start is not None:
        parts.append(f"chars {locator.char_start}-{locator.char_end}")
    return " ".join(parts)


def print_answer_end(
    sources: Sequence[SourceRow],
    *,
    abstained: bool,
    reason: str | None,
    dropped: Sequence[int] = (),
    unsupported: Sequence[tuple[str, str]] = (),
) -> None:
    """Print what follows a streamed answer: abstention, removed citations, unsupported
    sentences (reason, sentence), then the table of sources (link column folded to fit)."""
    out = Console(soft_wrap=True)
    if abstained:
        out.print(f"(no answer) {reason}", markup=False)
    else:
        sys.stdout.write("\n")
    for n in dropped:
        out.print(f"removed citation [{n}]: no such source was given", markup=False)
    for why, sentence in unsupported:
        out.print(f"unsupported ({why}): {sentence}", markup=False)
    table = Table("n", "cited", "document", "where", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("link", overflow="fold")
    for s in sources:
        cells = [f"[{s.n}]", "*" if s.cited else "", s.document_id[:12], s.where, s.link]
        table.add_row(*(Text(cell) for cell in cells))
    Console().print(table)


def print_degraded(reasons: Sequence[str], console: Console, *, verbose: bool) -> None:
    """Print each degraded channel once, dim, after the results: one line unless ``verbose``."""
    for reason in dict.fromkeys(reasons):  # the same reason twice (search + answer) once
        line = Text(f"degraded {reason}", style="dim")
        if verbose:
            console.print(line)
        else:
            console.print(line, no_wrap=True, overflow="ellipsis", soft_wrap=False)
    if reasons and not verbose:
        console.print(Text("(--verbose for the whole reason)", style="dim"))
