"""Prometheus instruments shared by the stages (``/metrics`` is served by api/metrics.py).

Counts that must survive restarts and add up across worker processes (documents and
segments by kind and outcome, queue depths, index sizes) are not kept here: the API reads
them from the catalog, the broker and the indexes at scrape time. What is measured in
process lives here: request latency (API) and model encode latency per space.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUEST_SECONDS = Histogram(
    "mmrag_http_request_duration_seconds",
    "HTTP request latency by route template, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
ENCODE_SECONDS = Histogram(
    "mmrag_encode_duration_seconds",
    "Model encode latency per call, by space and input kind (text, image, audio).",
    ["space", "kind"],
    buckets=LATENCY_BUCKETS,
)


@contextmanager
def timed_encode(space: str, kind: str) -> Iterator[None]:
    """Observe the duration of the block as one encode call of ``space`` on ``kind``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        ENCODE_SECONDS.labels(space, kind).observe(time.perf_counter() - started)
