"""The floor of a search: the bare libraries doing a search's work, with nothing of mmrag's.

For one text query with every channel on: ``SentenceTransformer.encode`` of the query
(all-MiniLM-L6-v2), the tiny CLIP and CLAP text towers (their ``encode_text`` /
``get_text_features`` under ``inference_mode``), one FAISS search per space on the snapshot
files the server loads (read with ``faiss.read_index``, 1 OpenMP thread) and one tantivy
search of the query's words (a boolean OR of term queries, as mmrag builds it). Three figures:

- ``single_ms``: the sum of the median wall time of each step (with torch on 1 thread or on
  every core, whichever was faster for that step): what one client can at best see, HTTP
  and fusion aside;
- ``cpu_ms``: CPU seconds (process time) per query of the same steps with 1 thread each, so
  that ``cores / cpu_ms`` is the most queries per second the cores can serve concurrently;
- ``cpu_batched_ms``: the same with the encodes done as one batch of ``batch`` queries
  (the share of one query), the floor for concurrent clients whose queries batch.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import tantivy
import torch

from index.spaces.registry import SpaceRegistry
from index.threads import usable_cores
from mmrag.settings import Settings

Step = Callable[[Sequence[str]], object]


def text_encoders(settings: Settings) -> dict[str, Step]:
    """Return bare batch encoders of a text query for each space (the spaces' own models)."""
    spaces = SpaceRegistry(settings)
    text: Any = spaces.get("text")
    image: Any = spaces.get("image")
    audio: Any = spaces.get("audio")
    minilm, clip, clap = text.model, image.model, audio.model
    tokenizer, processor = image.tokenizer, audio.processor

    def encode_clip(texts: Sequence[str]) -> object:
        with torch.inference_mode():
            return clip.encode_text(tokenizer(list(texts)), normalize=True)

    def encode_clap(texts: Sequence[str]) -> object:
        tokens = processor.tokenizer(list(texts), padding=True, truncation=True,
                                     return_tensors="pt")  # fmt: skip
        with torch.inference_mode():
            return clap.get_text_features(
                input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
            )

    def encode_minilm(texts: Sequence[str]) -> object:
        return minilm.encode(list(texts), batch_size=len(texts), show_progress_bar=False)

    return {"text": encode_minilm, "image": encode_clip, "audio": encode_clap}


def lookups(data_dir: Path, depth: int = 50) -> dict[str, Step]:
    """Return bare lookups: FAISS per snapshot file (random query) and tantivy (the words)."""
    steps: dict[str, Step] = {}
    for path in sorted((data_dir / "index" / "faiss" / "snapshots").glob("*.faiss")):
        index = faiss.read_index(str(path))
        vector = np.random.default_rng(0).standard_normal((1, index.d)).astype(np.float32)
        vector /= np.linalg.norm(vector)
        steps[f"faiss-{index.d}d-{index.ntotal}"] = _faiss_step(index, vector, depth)
    bm25 = tantivy.Index.open(str(data_dir / "index" / "bm25"))
    bm25.reload()
    schema = bm25.schema

    def tantivy_search(texts: Sequence[str]) -> object:
        words = set(re.findall(r"[a-z0-9]+", texts[0].lower())) or {"python"}
        should = tantivy.Occur.Should
        clauses = [(should, tantivy.Query.term_query(schema, "body", w)) for w in words]
        return bm25.searcher().search(tantivy.Query.boolean_query(clauses), depth).hits

    steps["tantivy"] = tantivy_search
    return steps


def _faiss_step(index: Any, vector: np.ndarray, depth: int) -> Step:
    return lambda _: index.search(vector, depth)


def median_ms(step: Step, queries: Sequence[str], repeats: int) -> float:
    """Return the median wall time of ``step`` over single queries, in ms (after a warm-up)."""
    step(queries[:1])
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        step([queries[i % len(queries)]])
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def cpu_ms(step: Step, queries: Sequence[str], repeats: int, batch: int = 1) -> float:
    """Return the process CPU time per query of ``step`` given ``batch`` queries at a time."""
    step(queries[:batch])
    started = time.process_time()
    for i in range(repeats):
        step([queries[(i * batch + j) % len(queries)] for j in range(batch)])
    return (time.process_time() - started) / (repeats * batch) * 1000


def measure(settings: Settings, queries: Sequence[str], repeats: int = 60, batch: int = 4
            ) -> dict[str, float]:  # fmt: skip
    """Return the floor figures (see the module docstring) and each step's median."""
    encoders, finders = text_encoders(settings), lookups(settings.data_dir)
    threads = torch.get_num_threads()
    faiss.omp_set_num_threads(1)
    figures: dict[str, float] = {}
    for torch_threads in sorted({1, threads}):  # the better of 1 thread and every core
        torch.set_num_threads(torch_threads)
        for name, step in {**encoders, **finders}.items():
            took = median_ms(step, queries, repeats)
            figures[f"{name}_ms"] = min(took, figures.get(f"{name}_ms", took))
    figures["single_ms"] = sum(figures.values())
    torch.set_num_threads(1)
    lookup_cpu = sum(cpu_ms(step, queries, repeats) for step in finders.values())
    figures["cpu_ms"] = lookup_cpu + sum(cpu_ms(s, queries, repeats) for s in encoders.values())
    figures["cpu_batched_ms"] = lookup_cpu + sum(
        cpu_ms(s, queries, repeats // batch + 1, batch) for s in encoders.values()
    )
    torch.set_num_threads(threads)
    cores = usable_cores()
    figures["cores"] = cores
    figures["qps_floor"] = cores * 1000 / figures["cpu_ms"]
    figures["qps_batched_floor"] = cores * 1000 / figures["cpu_batched_ms"]
    return figures


def print_floor(figures: dict[str, float]) -> None:
    """Print each step's median and the three floors."""
    steps = [k for k in figures if k.endswith("_ms") and k not in
             ("single_ms", "cpu_ms", "cpu_batched_ms")]  # fmt: skip
    print("floor (bare libraries, same machine, same run): " + ", ".join(
        f"{k[:-3]} {figures[k]:.2f} ms" for k in steps))  # fmt: skip
    print(
        f"  single query {figures['single_ms']:.1f} ms; CPU per query {figures['cpu_ms']:.1f} ms"
        f" -> {figures['qps_floor']:.0f} req/s on {figures['cores']:.0f} cores; encodes batched"
        f" by 4: {figures['cpu_batched_ms']:.1f} ms -> {figures['qps_batched_floor']:.0f} req/s"
    )
