"""Real embeddings for bench/vectors.py: all-MiniLM-L6-v2 over passages of real documentation.

Passages: the text blocks (paragraphs, definitions, list items) of the HTML docs under
/usr/share/doc (the Python 3 docs of apt ``python3-doc`` and the Debian FAQ of
``debian-faq`` make most of them; here also gnuplot, nodejs, valgrind), in file order, grouped into
passages of about ``PASSAGE_CHARS`` characters; exact duplicates dropped. Queries: the first
sentence of passages that are NOT indexed (the last ``queries`` passages), so a query's
words are not verbatim in the index and its neighbours are real semantic neighbours.

Encoding is the slow part (a few hundred passages/s on 2 idle cores), so vectors are cached
under ``bench/out/vectors-real/`` in blocks of ``BLOCK`` and reused by later runs: a run
asking for more vectors encodes only the missing blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from lxml import html as lxml_html

CACHE = Path(__file__).resolve().parent / "out" / "vectors-real"
SOURCES = ("/usr/share/doc/**/*.html",)  # python3-doc, debian-faq, and any other HTML docs
PASSAGE_CHARS = 250
BLOCK = 2000
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_SPACE: Any = None  # the text space, loaded on first use


def passages() -> list[str]:
    """Return every distinct passage of the installed docs, in a stable order."""
    files = sorted({p for pat in SOURCES for p in Path("/").glob(pat.lstrip("/")) if p.is_file()})
    if not files:
        raise SystemExit("--data real needs apt-get install -y python3-doc debian-faq")
    seen: set[str] = set()
    out: list[str] = []
    for path in files:
        for passage in _file_passages(path):
            if passage not in seen:
                seen.add(passage)
                out.append(passage)
    return out


def _file_passages(path: Path) -> Iterator[str]:
    try:
        root = lxml_html.fromstring(path.read_bytes())
    except (ValueError, SyntaxError):
        return
    current = ""
    for block in root.iter("p", "dd", "li"):
        text = " ".join(block.text_content().split())
        if len(text.split()) < 5:
            continue
        current = f"{current} {text}".strip()
        if len(current) >= PASSAGE_CHARS:
            yield current
            current = ""
    if len(current.split()) >= 20:
        yield current


def first_sentence(passage: str) -> str:
    return _SENTENCE.split(passage, maxsplit=1)[0][:300]


def embeddings(n: int, queries: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (``n`` passage vectors, ``queries`` query vectors), encoding what is not cached."""
    texts = passages()
    if n + queries > len(texts):
        print(f"only {len(texts)} passages installed: indexing {len(texts) - queries}")
        n = len(texts) - queries
    held_out = [first_sentence(p) for p in texts[-queries:]]
    blocks = [_block(texts, start, threads) for start in range(0, n, BLOCK)]
    data = np.concatenate(blocks)[:n]
    return data, _encode(held_out, threads)


def _block(texts: list[str], start: int, threads: int) -> np.ndarray:
    path = CACHE / f"minilm-{PASSAGE_CHARS}-{start:07d}-{BLOCK}.npy"
    if path.exists():
        return np.load(path)
    print(f"encoding passages {start:,}-{start + BLOCK:,} (cached in {path.parent})", flush=True)
    vectors = _encode(texts[start : start + BLOCK], threads)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _encode(texts: list[str], threads: int) -> np.ndarray:
    import torch

    from index.spaces.text import load_text_space
    from mmrag.settings import Settings

    torch.set_num_threads(threads)
    global _SPACE
    if _SPACE is None:
        _SPACE = load_text_space(Settings(offline=True), "cpu")
    return _SPACE.encode_texts(texts)
