"""``GET /metrics`` (Prometheus text format) and the middleware that times every request.

The middleware is plain ASGI (no per-request task or body copy): it takes the caller's
``X-Request-ID`` (or makes one), puts it in the logging context and the response headers,
and observes the latency under the matched route's template, so ``/v1/documents/{id}`` is
one series, not one per document. Catalog, broker and index figures are read when
Prometheus scrapes, so they add up across processes and survive restarts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import CallerDep, authorize
from api.state import ServiceState
from mmrag.catalog import counts
from mmrag.logs import HEADER, REQUEST_ID, new_request_id
from mmrag.metrics import REQUEST_SECONDS

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=True, response_class=Response)
def metrics(request: Request, caller: CallerDep) -> Response:
    """Prometheus metrics of this API process and of the whole deployment's state."""
    authorize(caller, "read")  # deployment-wide figures: a key that reads every collection
    _ensure_collector(request.app.state.service)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """ASGI middleware: request id in and out, latency histogram by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        request_id = new_request_id(given.decode("latin-1"))
        token = REQUEST_ID.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (HEADER.lower().encode(), request_id.encode())
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUEST_SECONDS.labels(template, scope["method"], str(status)).observe(
                time.perf_counter() - started
            )
            REQUEST_ID.reset(token)


class DeploymentCollector(Collector):
    """Documents and segments by kind and outcome, queue depths, index sizes: at scrape."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._catalog()
        yield self._queues()
        yield self._indexes()

    def _catalog(self) -> Iterator[GaugeMetricFamily]:
        documents = GaugeMetricFamily(
            "mmrag_documents", "Documents by kind and status.", labels=["kind", "status"]
        )
        segments = GaugeMetricFamily(
            "mmrag_segments", "Segments of live documents by modality.", labels=["modality"]
        )
        with self.state.catalog.session() as session:
            totals = counts.documents_by_kind_and_status(session)
            by_modality = counts.segments_by_modality(session)
        for (kind, status), count in sorted(totals.items()):
            documents.add_metric([kind, status], count)
        for modality, count in by_modality.items():
            segments.add_metric([modality], count)
        yield documents
        yield segments

    def _queues(self) -> GaugeMetricFamily:
        depth = GaugeMetricFamily(
            "mmrag_queue_depth", "Messages waiting per Celery queue.", labels=["queue"]
        )
        try:
            for queue, count in self.state.doorbell.queue_depths().items():
                depth.add_metric([queue], count)
        except Exception as exc:  # a broker that is down shows as missing series, not a 500
            log.warning("queue depth unavailable: %s", exc)
        return depth

    def _indexes(self) -> GaugeMetricFamily:
        sizes = GaugeMetricFamily(
            "mmrag_index_entries", "Entries per index (bm25, and each space).", labels=["index"]
        )
        indexes = self.state.indexes
        counters = {"bm25": lambda: indexes.bm25.count()}
        for space in self.state.settings.spaces:
            counters[space] = lambda space=space: indexes.vectors.count(space)  # type: ignore[misc]
        for name, count in counters.items():
            try:
                sizes.add_metric([name], count())
            except Exception as exc:  # a space never written to has no index yet
                log.debug("index size of %s unavailable: %s", name, exc)
        return sizes


_collectors: dict[int, DeploymentCollector] = {}
_lock = threading.Lock()


def _ensure_collector(state: ServiceState) -> None:
    """Register one collector for the live state (apps in tests come and go)."""
    with _lock:
        _swap_collector(state)


def _swap_collector(state: ServiceState) -> None:
    for key, collector in list(_collectors.items()):
        if collector.state is not state:
            REGISTRY.unregister(collector)
            del _collectors[key]
    if id(state) not in _collectors:
        collector = DeploymentCollector(state)
        REGISTRY.register(collector)
        _collectors[id(state)] = collector
