"""Answer quality of the extractive backend on real FAQ pages: citations, recall, abstention.

Corpus and answerable questions: the ``question`` form of :mod:`bench.qsets` (Debian FAQ +
Python FAQ pages from apt ``debian-faq`` / ``python3-doc``; each question heading is
replaced by "Item N" on the indexed page, so the question is not in the index verbatim).
A source is *relevant* to a question when its segment is in the question's page and its
``Locator.section`` ends with the question's heading: the answer section.

Unanswerable questions (``UNANSWERABLE``, written for this bench; none is asked or answered
on any FAQ page): ``off-topic`` (cooking, sport, geography, ...) and ``near-topic`` (software
and operating-system questions in the corpus's own vocabulary whose subject the pages never
cover). They go through exactly the same path.

Per question: ``Retriever.search`` (k = ``answer_k``, the default channel weights) then
``generate.answer.answer`` with the extractive backend: the code behind ``POST /v1/answer``.

- citation precision: share of all citations (over answered questions) whose source is
  relevant, i.e. contains the answer section.
- answer recall: share of answerable questions with a relevant cited source.
- abstention: share of unanswerable questions answered with ``abstained: true``.
- also printed: the retrieval ceiling (share of answerable questions with a relevant source
  anywhere in the context; no answer can cite what retrieval did not bring) and recall
  within it, and how often answerable questions were abstained on.

``--min-evidence`` takes several values: retrieval runs once per question and each value of
``answer_min_evidence`` is evaluated over the same hits (the first is the headline).

    .venv/bin/python bench/answer.py                     # ingest (~1 min) + evaluate
    .venv/bin/python bench/answer.py --workdir bench/out/answer --min-evidence 0.4,0.5,0.6
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bs4 import XMLParsedAsHTMLWarning

from bench.qsets import FORMS, Label, MissingPackage, build
from bench.quality import COLLECTION, ingest
from generate.answer import Answer, answer
from generate.backends.extractive import ExtractiveBackend
from mmrag.domain import Hit
from mmrag.settings import Settings
from retrieve.query import Query
from workers.runtime import Runtime

TEXT_CHANNELS = ("bm25", "text")  # a text corpus: image/audio spaces are not enabled
UNANSWERABLE: dict[str, list[str]] = {
    "off-topic": [
        "How long should I knead bread dough before the first rise?",
        "What temperature should a roast chicken reach inside?",
        "Who won the football world cup in 1998?",
        "What is the capital city of Mongolia?",
        "How many moons does Jupiter have?",
        "Why do cats purr when they are stroked?",
        "What causes the northern lights?",
        "How do I remove a red wine stain from a carpet?",
        "When was the Eiffel Tower built?",
        "How often should tomato plants be watered in summer?",
        "What is the offside rule in football?",
        "How do bees make honey from nectar?",
        "Which vitamins are found in oranges?",
        "How deep is the Mariana Trench?",
        "What is the best way to train a puppy to sit?",
        "How do I change a flat tyre on a bicycle?",
        "Who painted the Mona Lisa?",
        "What is the boiling point of water on Mount Everest?",
        "How do I knit a scarf for beginners?",
        "Why is the sky blue during the day?",
        "How many players are on a rugby union team?",
        "What is a good marinade for grilled salmon?",
        "How do volcanoes form along tectonic plates?",
        "When did the Roman Empire fall?",
        "How do I descale a coffee machine with vinegar?",
    ],
    "near-topic": [
        "How do I deploy a container to a Kubernetes cluster with Helm charts?",
        "How do I fix a borrow checker error about lifetimes in Rust?",
        "How do I restore a backup with Time Machine on macOS?",
        "How do I enable dark mode in Microsoft Excel?",
        "How do I configure a VLAN trunk on a Cisco switch?",
        "How do I write a smart contract in Solidity for Ethereum?",
        "How do I root an Android phone to install a custom ROM?",
        "How do I set up two-factor authentication for a Gmail account?",
        "How do I train a convolutional neural network in TensorFlow on a GPU?",
        "How do I migrate a WordPress blog to a new hosting provider?",
        "How do I transpose a pivot table in Google Sheets?",
        "How do I use React hooks to fetch data in a component?",
        "How do I jailbreak an iPhone running iOS 17?",
        "How do I configure Nginx as a reverse proxy with Let's Encrypt certificates?",
        "How do I create a Docker Compose file with a PostgreSQL volume?",
    ],
}


@dataclass(frozen=True)
class Figures:
    citation_precision: float
    answer_recall: float
    abstention_unanswerable: float
    abstention_off_topic: float
    abstention_near_topic: float
    retrieval_ceiling: float
    recall_within_ceiling: float
    precision_within_ceiling: float
    abstained_answerable: float
    citations: int
    answerable: int
    unanswerable: int


def relevant(hit: Hit, label: Label, document_id: str) -> bool:
    section = hit.segment.locator.section or ""
    return hit.segment.document_id == document_id and section.split(" > ")[-1] == label.heading


def evaluate(
    settings: Settings,
    labelled: Sequence[tuple[Label, list[Hit]]],
    unanswerable: Mapping[str, Sequence[tuple[str, list[Hit]]]],
    ids: Mapping[str, str],
) -> Figures:
    """Return the figures of one setting over hits retrieved once."""
    backend = ExtractiveBackend.from_settings(settings)
    cited = correct = found = ceiling = found_in_ceiling = declined = 0
    cited_in_ceiling = correct_in_ceiling = 0
    for label, hits in labelled:
        result = answer(label.query, hits, backend, settings)
        marks = [relevant(c.source.hit, label, ids[label.source]) for c in result.citations]
        cited += len(marks)
        correct += sum(marks)
        found += any(marks)
        declined += result.abstained
        if any(relevant(h, label, ids[label.source]) for h in _given(result)):
            ceiling += 1
            found_in_ceiling += any(marks)
            cited_in_ceiling += len(marks)
            correct_in_ceiling += sum(marks)
    rates = {
        kind: sum(answer(q, hits, backend, settings).abstained for q, hits in items) / len(items)
        for kind, items in unanswerable.items()
    }
    n_unanswerable = sum(len(items) for items in unanswerable.values())
    return Figures(
        citation_precision=_ratio(correct, cited),
        answer_recall=_ratio(found, len(labelled)),
        abstention_unanswerable=sum(rates[k] * len(v) for k, v in unanswerable.items())
        / n_unanswerable,
        abstention_off_topic=rates["off-topic"],
        abstention_near_topic=rates["near-topic"],
        retrieval_ceiling=_ratio(ceiling, len(labelled)),
        recall_within_ceiling=_ratio(found_in_ceiling, ceiling),
        precision_within_ceiling=_ratio(correct_in_ceiling, cited_in_ceiling),
        abstained_answerable=_ratio(declined, len(labelled)),
        citations=cited,
        answerable=len(labelled),
        unanswerable=n_unanswerable,
    )


def _given(result: Answer) -> list[Hit]:
    return [s.hit for s in result.sources]


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def prepare(
    workdir: Path, form: str = "question"
) -> tuple[Runtime, list[Label], dict[str, str], dict[str, object]]:
    """Ingest the pages of ``form`` into ``workdir/FORM`` (or reuse a finished ingestion).

    Same data dir layout and marker as ``bench/quality.py --workdir``, so either reuses the
    other's ingestion.
    """
    pages, labels = build(form)
    data_dir = workdir / form
    settings = Settings(data_dir=data_dir, spaces=["text"], offline=True)
    marker = data_dir / "bench-quality-ids.json"
    names = sorted(p.name for p in pages)
    reuse = marker.exists() and sorted(json.loads(marker.read_text())) == names
    if not reuse and data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(f"{data_dir} holds an unfinished or different ingestion: remove it")
    rt = Runtime.open(settings)
    started = time.perf_counter()
    ids = json.loads(marker.read_text()) if reuse else ingest(rt, pages)
    if not reuse:
        marker.write_text(json.dumps(ids))
    info = {"pages": len(pages), "segments": rt.bm25.count(), "reused": reuse,
            "ingest_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    return rt, labels, ids, info


def retrieve(rt: Runtime, question: str) -> list[Hit]:
    s = rt.settings
    weights = {c: w for c, w in s.channel_weights.items() if c in TEXT_CHANNELS}
    query = Query(collections=[COLLECTION], text=question, k=s.answer_k, weights=weights,
                  rrf_k=s.rrf_k)  # fmt: skip
    result = rt.retriever.search(query)
    if result.degraded:
        raise SystemExit(f"degraded channels: {result.degraded}")
    return result.hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--form",
        choices=FORMS,
        default="question",
        help="question: FAQ questions (default); cloze: a section's deleted first sentence",
    )
    parser.add_argument("--workdir", type=Path, help="keep the data dir here (default: temp)")
    parser.add_argument("--min-evidence", default=None, help="answer_min_evidence values, a,b,c")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)
    with tempfile.TemporaryDirectory(prefix="mmrag-answer-") as tmp:
        try:
            rt, labels, ids, info = prepare(args.workdir or Path(tmp), args.form)
        except MissingPackage as exc:
            raise SystemExit(str(exc)) from None
        started = time.perf_counter()
        labelled = [(label, retrieve(rt, label.query)) for label in labels]
        unanswerable = {
            kind: [(q, retrieve(rt, q)) for q in questions]
            for kind, questions in UNANSWERABLE.items()
        }
        retrieval_s = time.perf_counter() - started
        values = args.min_evidence or str(rt.settings.answer_min_evidence)
        results = {}
        for value in (float(v) for v in values.split(",")):
            settings = rt.settings.model_copy(update={"answer_min_evidence": value})
            results[value] = evaluate(settings, labelled, unanswerable, ids)
        rt.close()
    print_figures(results, {**info, "form": args.form}, rt.settings, retrieval_s)
    if args.json:
        args.json.write_text(json.dumps({str(k): asdict(v) for k, v in results.items()}, indent=2))


def print_figures(
    results: Mapping[float, Figures], info: Mapping[str, object], s: Settings, took: float
) -> None:
    first = next(iter(results.values()))
    print(
        f"extractive answers ({info['form']} form): {first.answerable} answerable FAQ questions "
        f"over {info['pages']} "
        f"pages ({info['segments']} segments"
        + (", reused data dir" if info["reused"] else f", ingested in {info['ingest_seconds']} s")
        + f"), {first.unanswerable} unanswerable; k={s.answer_k}, "
        f"weights { {c: w for c, w in s.channel_weights.items() if c in TEXT_CHANNELS} }, "
        f"rrf_k={s.rrf_k}, support threshold {s.answer_support_threshold}; "
        f"retrieval {took:.1f} s"
    )
    print(
        f"{'min_evidence':>12} {'cit.prec':>8} {'recall':>7} {'abst.unans':>10} "
        f"{'(off':>5} {'near)':>5} {'ceiling':>8} {'prec|ceil':>9} {'rec|ceil':>8} "
        f"{'abst.ans':>8} {'cites':>6}"
    )
    for value, f in results.items():
        goals = _goals(f)
        print(
            f"{value:>12.2f} {f.citation_precision:>8.3f} {f.answer_recall:>7.3f} "
            f"{f.abstention_unanswerable:>10.3f} {f.abstention_off_topic:>5.2f} "
            f"{f.abstention_near_topic:>5.2f} {f.retrieval_ceiling:>8.3f} "
            f"{f.precision_within_ceiling:>9.3f} {f.recall_within_ceiling:>8.3f} "
            f"{f.abstained_answerable:>8.3f} {f.citations:>6}"
            f"   {goals}"
        )


def _goals(f: Figures) -> str:
    checks = [("precision>=0.9", f.citation_precision >= 0.9),
              ("abstention>=0.8", f.abstention_unanswerable >= 0.8),
              ("recall>=0.8", f.answer_recall >= 0.8)]  # fmt: skip
    return " ".join(f"{name}:{'yes' if ok else 'NO'}" for name, ok in checks)


if __name__ == "__main__":
    main()
