"""One encoder loop per space: queries that arrive together share one forward pass.

A search encodes one short query per space. Encoded alone, four concurrent searches cost
four forward passes that queue on the cores; encoded as one batch, they cost about 1.5
(bench/search.py prints both floors). The loop takes the first waiting query, gathers the
others that arrive within ``window_s`` (at most ``max_batch``), encodes each kind of input
in one call of the space's encoder, and hands every caller its own row. While a pass runs,
new queries queue up and form the next batch, so a busy loop batches with no window at all;
a lone query waits at most ``window_s``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from index.spaces.base import Space
from index.threads import set_torch_threads

log = logging.getLogger(__name__)

Row = NDArray[np.float32]


@dataclass(frozen=True)
class _Request:
    key: Hashable  # requests with the same key are encoded in one call
    item: Any
    future: Future[Row] = field(default_factory=Future)


class QueryBatcher:
    """Encodes single queries for ``space`` in batches, on one thread; use from many threads."""

    def __init__(
        self, space: Space, window_s: float = 0.001, max_batch: int = 16, torch_threads: int = 0
    ) -> None:
        self.space = space
        self.window_s = window_s
        self.max_batch = max(1, max_batch)
        self.torch_threads = torch_threads  # of the loop's thread (0: torch's default)
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def text(self, text: str) -> Future[Row]:
        """Return a future of ``text``'s normalised row."""
        return self._submit(("text",), text)

    def image(self, image: Image.Image) -> Future[Row]:
        """Return a future of ``image``'s normalised row."""
        return self._submit(("image",), image)

    def audio(self, waveform: Row, sample_rate: int) -> Future[Row]:
        """Return a future of the clip's normalised row (clips batch per sample rate)."""
        return self._submit(("audio", sample_rate), waveform)

    def close(self) -> None:
        """Stop the loop once the queries already queued are answered."""
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join()

    def _submit(self, key: Hashable, item: Any) -> Future[Row]:
        request = _Request(key, item)
        self._ensure_started()
        self._queue.put(request)
        return request.future

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                name = f"encode-{self.space.name}"
                self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        set_torch_threads(self.torch_threads)
        while True:
            batch = self._gather()
            if batch is None:
                return
            groups: dict[Hashable, list[_Request]] = {}
            for request in batch:
                groups.setdefault(request.key, []).append(request)
            for key, requests in groups.items():
                self._encode(key, requests)

    def _gather(self) -> list[_Request] | None:
        """Return the next batch (None once closed): the first query and those within the window."""
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.max_batch:
            wait = deadline - time.monotonic()
            try:
                request = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if request is None:  # closing: answer what we hold, then stop
                self._queue.put(None)
                break
            batch.append(request)
        return batch

    def _encode(self, key: Hashable, requests: list[_Request]) -> None:
        try:
            rows = self._encoder(key)([r.item for r in requests])
        except BaseException as exc:  # every caller learns why; the loop keeps serving
            for request in requests:
                request.future.set_exception(exc)
            return
        for request, row in zip(requests, rows, strict=True):
            request.future.set_result(row)

    def _encoder(self, key: Hashable) -> Callable[[list[Any]], NDArray[np.float32]]:
        kind = key[0] if isinstance(key, tuple) else key
        if kind == "text":
            return self.space.encode_texts
        if kind == "image":
            return self.space.encode_images
        rate = int(key[1])  # type: ignore[index]
        return lambda clips: self.space.encode_audio(clips, rate)
