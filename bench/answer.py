"""Answer quality on real FAQ pages and a PDF manual: citations, recall, abstention, losses.

``faq`` set: the ``question`` form of :mod:`bench.qsets` (Debian FAQ + Python FAQ pages from
apt ``debian-faq`` / ``python3-doc``; each question heading is replaced by "Item N" on the
indexed page, so the question is not in the index verbatim). A source is *relevant* to a
question when its segment is in the question's page and its ``Locator.section`` ends with
the question's heading: the answer section. ``pdf`` set (:mod:`bench.answer_pdf`): the
Debian FAQ PDF with its headings intact and questions asked in other words; relevant: a
source on the answer's pages.

Unanswerable questions (``UNANSWERABLE``, written for this bench; none is asked or answered
on any FAQ page), asked of each corpus: ``off-topic`` (cooking, sport, geography, ...) and
``near-topic`` (software and operating-system questions in the corpus's own vocabulary
whose subject the pages never cover). They go through exactly the same path.

Per question: ``Retriever.search`` (k = ``answer_k``, the default channel weights) once, then
``generate.answer.answer`` (the code behind ``POST /v1/answer``) with three scorers in the
same run: ``old`` = lexical evidence (the text space disabled), ``prev`` = the semantic
scorer of commit e4e197e (``PREVIOUS_*``) and ``new`` = the current defaults. Seconds per
answer come from ``--timing`` questions answered without the encoder's memo, the scorers
taking turns.

- citation precision: share of all citations (over answered questions) whose source is
  relevant; answer recall: share of answerable questions with a relevant cited source;
  abstention: share of unanswerable questions answered with ``abstained: true`` (off-topic
  and near-topic apart). Within the ceiling: over the questions whose context holds a
  relevant source (no answer can cite what retrieval did not bring).
- losses, per corpus: ``not retrieved`` (no relevant source in the context), ``refused``
  (a relevant source was given, the answer abstained), ``wrong source`` (a relevant source
  was given, the answer cited only others).
- ``--calibrate``: the gate threshold of the new scorer chosen on the other corpora's
  questions (and half of the unanswerable ones) by the largest recall + abstention
  (Youden's J), reported on the held-out corpus and the other half; each corpus in turn.
- ``--backend openai``: the same sets through an OpenAI-compatible server
  (``MMRAG_ANSWER_OPENAI_URL`` / ``MMRAG_ANSWER_OPENAI_MODEL``): Ollama, vLLM, llama.cpp.

    .venv/bin/python bench/answer.py                     # ingest (~4-8 min) + evaluate
    .venv/bin/python bench/answer.py --workdir bench/out/answer --calibrate --memo rows.pkl
    MMRAG_ANSWER_OPENAI_URL=http://127.0.0.1:8080/v1 .venv/bin/python bench/answer.py \\
        --workdir bench/out/answer --backend openai --scorers new
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bs4 import XMLParsedAsHTMLWarning

from bench import answer_pdf
from bench.answer_figures import Outcome, calibrate, figures
from bench.pdf_quality import COLLECTION as PDF_COLLECTION
from bench.qsets import FORMS, Label, MissingPackage, build
from bench.quality import COLLECTION, ingest
from generate.answer import answer
from generate.backends.base import AnswerBackend
from generate.backends.extractive import ExtractiveBackend
from generate.backends.registry import BackendRegistry
from generate.evidence import DEFAULT_WEIGHTS, Weights
from generate.semantic import LEXICAL_ONLY, TextEncoder
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


SCORERS = ("old", "prev", "new")
# The semantic scorer before this one (commit e4e197e), kept to print before/after in a run.
PREVIOUS_WEIGHTS = Weights(
    sentence=0.45, top=0.15, heading=0.10, lexical=0.50, rank=0.10, passage=0.40,
    own=0.25, own_lexical=0.2, encode_passages=False,
)  # fmt: skip
PREVIOUS_BACKEND = ExtractiveBackend(
    min_similarity=0.25, keep_ratio=0.8, other_source_ratio=0.95, complement_ratio=2.0
)  # 2: never
PREVIOUS_THRESHOLD = 0.57


class CachedEncoder:
    """The text encoder with a memo, so calibration sweeps do not encode again."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.inner = encoder
        self.memo: dict[str, NDArray[np.float32]] = {}

    def __call__(self, texts: Sequence[str]) -> NDArray[np.float32]:
        assert self.inner.encode is not None
        fresh = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if fresh:
            self.memo.update(zip(fresh, self.inner.encode(fresh), strict=True))
        return np.stack([self.memo[t] for t in texts])


def relevant(hit: Hit, label: Label, document_id: str) -> bool:
    section = hit.segment.locator.section or ""
    return hit.segment.document_id == document_id and section.split(" > ")[-1] == label.heading


@dataclass(frozen=True)
class Asked:
    """One question with what retrieval gave it; ``relevant`` is None when unanswerable."""

    group: str  # corpus, or "off-topic" / "near-topic"
    question: str
    hits: list[Hit]
    relevant: Callable[[Hit], bool] | None


@dataclass(frozen=True)
class Scorer:
    """How an answer is scored: the encoder (lexical without), weights, backend, gate."""

    encoder: TextEncoder
    weights: Weights
    backend: AnswerBackend
    threshold: float
    uncached: TextEncoder = LEXICAL_ONLY  # the same encoder without the memo, for timing


def outcomes(settings: Settings, scorer: Scorer, asked: Sequence[Asked]) -> list[Outcome]:
    """Answer every question once with the gate open (thresholds are applied afterwards)."""
    open_gate = settings.model_copy(
        update={"answer_min_evidence": 0.0, "answer_min_semantic_evidence": 0.0}
    )
    found: list[Outcome] = []
    for item in asked:
        started = time.perf_counter()
        result = answer(item.question, item.hits, scorer.backend, open_gate,
                        encoder=scorer.encoder, weights=scorer.weights)  # fmt: skip
        took = time.perf_counter() - started
        is_relevant = item.relevant or (lambda _hit: False)
        found.append(
            Outcome(
                group=item.group,
                gate_score=result.evidence,
                declined=result.abstained,
                given=any(is_relevant(s.hit) for s in result.sources),
                marks=tuple(is_relevant(c.source.hit) for c in result.citations),
                unsupported=len(result.unsupported),
                seconds=took,
            )
        )
    return found


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
    info = {
        "pages": len(pages),
        "segments": rt.bm25.count(),
        "reused": reuse,
        "ingest_seconds": round(time.perf_counter() - started, 1),
    }
    return rt, labels, ids, info


def retrieve(rt: Runtime, question: str, collection: str = COLLECTION) -> list[Hit]:
    s = rt.settings
    weights = {c: w for c, w in s.channel_weights.items() if c in TEXT_CHANNELS}
    query = Query(
        collections=[collection], text=question, k=s.answer_k, weights=weights, rrf_k=s.rrf_k
    )
    result = rt.retriever.search(query)
    if result.degraded:
        raise SystemExit(f"degraded channels: {result.degraded}")
    return result.hits


def ask(rt: Runtime, collection: str, labelled: Sequence[tuple[str, str, Callable[[Hit], bool]]]
        ) -> list[Asked]:  # fmt: skip
    """Retrieve for every labelled question and every unanswerable one in ``collection``."""
    asked = [Asked(g, q, retrieve(rt, q, collection), rel) for g, q, rel in labelled]
    asked += [
        Asked(kind, q, retrieve(rt, q, collection), None)
        for kind, questions in UNANSWERABLE.items()
        for q in questions
    ]
    return asked


def faq_questions(workdir: Path, form: str) -> tuple[Runtime, list[Asked], dict[str, object]]:
    rt, labels, ids, info = prepare(workdir, form)
    labelled = [
        (label.corpus, label.query, lambda h, lb=label: relevant(h, lb, ids[lb.source]))
        for label in labels
    ]
    return rt, ask(rt, COLLECTION, labelled), info


def pdf_questions(workdir: Path) -> tuple[Runtime, list[Asked], dict[str, object]]:
    rt, labels, info = answer_pdf.prepare_pdf(workdir)
    labelled = [
        (label.corpus, label.query, lambda h, lb=label: answer_pdf.on_pages(h, lb))
        for label in labels
    ]
    return rt, ask(rt, PDF_COLLECTION, labelled), info


def timing(
    settings: Settings, compared: Mapping[str, Scorer], asked: Sequence[Asked], n: int
) -> dict[str, float]:
    """Return seconds per answer of each scorer on ``n`` questions spread over ``asked``.

    Without the memo (each answer pays its whole encode), the scorers taking turns on each
    question, so the machine's load falls on all of them alike.
    """
    sample = list(asked)[:: max(1, len(asked) // max(n, 1))][:n]
    took = dict.fromkeys(compared, 0.0)
    for item in sample:
        for name, scorer in compared.items():
            fresh = replace(scorer, encoder=scorer.uncached)
            took[name] += outcomes(settings, fresh, [item])[0].seconds
    return {name: round(t / max(len(sample), 1), 4) for name, t in took.items()}


def scorers(rt: Runtime, backend_name: str, memo: CachedEncoder | None = None
            ) -> dict[str, Scorer]:  # fmt: skip
    """Return the scorers compared: lexical (old), last session's semantic (prev), new."""
    semantic = TextEncoder.from_spaces(rt.spaces)
    if semantic.encode is None:
        raise SystemExit(f"the text space is disabled: {semantic.missing}")
    cached = memo or CachedEncoder(semantic)
    cached.inner = semantic
    encoder = TextEncoder(cached)  # prev and new share the sentences' rows
    backend = BackendRegistry(rt.settings).get(backend_name)
    s = rt.settings
    previous = PREVIOUS_BACKEND if backend_name == "extractive" else backend
    return {
        "old": Scorer(LEXICAL_ONLY, DEFAULT_WEIGHTS, backend, s.answer_min_evidence),
        "prev": Scorer(encoder, PREVIOUS_WEIGHTS, previous, PREVIOUS_THRESHOLD, semantic),
        "new": Scorer(encoder, DEFAULT_WEIGHTS, backend, s.answer_min_semantic_evidence, semantic),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--form",
        choices=FORMS,
        default="question",
        help="question: FAQ questions (default); cloze: a deleted first sentence",
    )
    parser.add_argument("--corpora", default="faq,pdf", help="faq (HTML FAQs), pdf (FAQ PDF)")
    parser.add_argument("--workdir", type=Path, help="keep the data dirs here (default: temp)")
    parser.add_argument("--backend", default="extractive", help="extractive (default) or openai")
    parser.add_argument("--scorers", default="old,prev,new", help="old (lexical), prev, new")
    parser.add_argument("--calibrate", action="store_true", help="held-out gate calibration")
    parser.add_argument("--memo", type=Path, help="keep encoded rows here between runs")
    parser.add_argument("--timing", type=int, default=30, help="questions timed uncached")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)
    corpora = args.corpora.split(",")
    with tempfile.TemporaryDirectory(prefix="mmrag-answer-") as tmp:
        workdir = args.workdir or Path(tmp)
        opened, asked, info = [], [], {"pages": 0, "segments": 0, "ingest_seconds": 0.0}
        started = time.perf_counter()
        try:
            if "faq" in corpora:
                opened.append(faq_questions(workdir, args.form))
            if "pdf" in corpora:
                opened.append(pdf_questions(workdir))
        except (MissingPackage, FileNotFoundError) as exc:
            raise SystemExit(str(exc)) from None
        for _rt, found, part in opened:
            asked += found
            for key in ("pages", "segments", "ingest_seconds"):
                info[key] += part[key]  # type: ignore[operator]
        info["reused"] = all(part["reused"] for _, _, part in opened)
        info["retrieval_seconds"] = round(time.perf_counter() - started - info["ingest_seconds"], 1)  # type: ignore[operator]
        rt = opened[0][0]
        memo = CachedEncoder(LEXICAL_ONLY)
        if args.memo and args.memo.exists():
            memo.memo = pickle.loads(args.memo.read_bytes())
        compared = scorers(rt, args.backend, memo)
        report: dict[str, object] = {}
        runs: dict[str, list[Outcome]] = {}
        for name in args.scorers.split(","):
            runs[name] = outcomes(rt.settings, compared[name], asked)
            report[name] = asdict(figures(runs[name], compared[name].threshold))
        if args.calibrate and "new" in runs:
            report["calibration"] = calibrate(runs["new"])
        if args.memo:
            args.memo.write_bytes(pickle.dumps(memo.memo))
        chosen = {name: compared[name] for name in runs}
        report["timing"] = timing(rt.settings, chosen, asked, args.timing)
        for opened_rt, _, _ in opened:
            opened_rt.close()
    info |= {"form": args.form, "backend": compared["new"].backend.name}
    print_report(report, info, rt.settings)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def print_report(report: Mapping[str, object], info: Mapping[str, object], s: Settings) -> None:
    print(
        f"{info['backend']} answers ({info['form']} form) over {info['pages']} documents "
        f"({info['segments']} segments"
        + (", reused data dir" if info["reused"] else f", ingested in {info['ingest_seconds']} s")
        + f"); k={s.answer_k}, weights "
        f"{ {c: w for c, w in s.channel_weights.items() if c in TEXT_CHANNELS} }, "
        f"rrf_k={s.rrf_k}; retrieval {info['retrieval_seconds']} s"
    )
    print(
        f"{'scorer':>6} {'gate':>5} {'cit.prec':>8} {'recall':>6} {'abst.unans':>10} "
        f"{'(off':>5} {'near)':>5} {'ceiling':>7} {'prec|ceil':>9} {'rec|ceil':>8} "
        f"{'abst.ans':>8} {'cites':>5} {'unsup':>5}"
    )
    for name in SCORERS:
        if name in report:
            _row(name, report[name])  # type: ignore[arg-type]
    timed: Mapping[str, float] = report["timing"]  # type: ignore[assignment]
    print(
        "seconds per answer (answer stage, uncached encoder, scorers in turn on the same "
        "questions): " + ", ".join(f"{name} {t:.3f}" for name, t in timed.items())
    )
    if "prev" in timed and "new" in timed:
        print(f"new / prev: {timed['new'] / max(timed['prev'], 1e-9):.2f}x")
    for name in SCORERS:
        if name in report:
            print(f"losses ({name}):", json.dumps(report[name]["losses"]))  # type: ignore[index]
    for fold in report.get("calibration", []):  # type: ignore[attr-defined]
        print(
            f"calibrated on {fold['calibrated on']}: threshold {fold['threshold']}; held out "
            f"{fold['held out']}:",
            end=" ",
        )
        _row("", fold["held-out"], short=True)


def _row(name: str, f: Mapping[str, object], short: bool = False) -> None:
    g = dict(f)
    if short:
        print(
            f"prec {g['citation_precision']:.3f} recall {g['answer_recall']:.3f} "
            f"abstention {g['abstention_unanswerable']:.3f} (off {g['abstention_off_topic']:.2f}"
            f" near {g['abstention_near_topic']:.2f}) within ceiling "
            f"{g['precision_within_ceiling']:.3f} / {g['recall_within_ceiling']:.3f}"
        )
        return
    print(
        f"{name:>6} {g['threshold']:>5.2f} {g['citation_precision']:>8.3f} "
        f"{g['answer_recall']:>6.3f} {g['abstention_unanswerable']:>10.3f} "
        f"{g['abstention_off_topic']:>5.2f} {g['abstention_near_topic']:>5.2f} "
        f"{g['retrieval_ceiling']:>7.3f} {g['precision_within_ceiling']:>9.3f} "
        f"{g['recall_within_ceiling']:>8.3f} {g['abstained_answerable']:>8.3f} "
        f"{g['citations']:>5} {g['unsupported']:>5}"
    )


if __name__ == "__main__":
    main()
