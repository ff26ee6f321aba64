"""Is the tantivy index whole? A cheap check for /readyz, search errors and ``mmrag reindex``.

Every file of a tantivy segment ends with a footer whose last four bytes are the magic
number 1337 (little-endian); a truncated or overwritten file loses it. Checking that each
segment ``meta.json`` lists has its files, each with that footer, costs a few ``stat`` and
8-byte reads, not a read of the index.
"""

from __future__ import annotations

import json
from pathlib import Path

from index.engine_errors import REINDEX_BM25, Diagnosis

_FOOTER_MAGIC = (1337).to_bytes(4, "little")
_SEGMENT_FILES = ("idx", "term", "store", "fast", "fieldnorm")


def index_damage(path: Path) -> str | None:
    """Return why the tantivy index at ``path`` is damaged, or None when it is whole."""
    try:
        meta = json.loads((path / "meta.json").read_bytes())
        segments = [(s["segment_id"].replace("-", ""), s.get("deletes")) for s in meta["segments"]]
    except FileNotFoundError:
        return None  # nothing indexed yet
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"meta.json is unreadable ({type(exc).__name__}: {exc})"
    for segment, deletes in segments:
        names = [f"{segment}.{ext}" for ext in _SEGMENT_FILES]
        if deletes:
            names.append(f"{segment}.{deletes['opstamp']}.del")
        for name in names:
            reason = _file_damage(path / name)
            if reason:
                return f"{name}: {reason}"
    return None


def _file_damage(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            if fh.seek(0, 2) < 8:
                return "truncated"
            fh.seek(-4, 2)
            return None if fh.read(4) == _FOOTER_MAGIC else "truncated or overwritten"
    except FileNotFoundError:
        return "missing"


def tantivy_diagnosis(path: Path) -> Diagnosis:
    """Return how the index's guard tells damaged files from other failures."""
    return Diagnosis(lambda exc: index_damage(path), REINDEX_BM25)
