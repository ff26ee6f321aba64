"""Deployment modes that cannot work, found from the settings before anything is written.

``mmrag serve``, ``mmrag worker`` and ``mmrag ingest`` refuse them with one line naming
the setting to change; the API app logs the same line and /readyz reports it. A mode that
works for one process only (Qdrant's local mode) stays available to one-shot commands
(``mmrag search``, ``mmrag ask``) and to tests that run everything in one process.
"""

from __future__ import annotations

from mmrag.settings import Settings


def impossible_modes(settings: Settings) -> list[str]:
    """Return why a service (API and workers, several processes) cannot run on ``settings``."""
    reasons: list[str] = []
    if settings.vector_store == "qdrant" and not settings.qdrant_url:
        reasons.append(
            "MMRAG_VECTOR_STORE=qdrant without MMRAG_QDRANT_URL is Qdrant's local mode, which "
            "only one process may open, and the API and its workers are several: set "
            "MMRAG_QDRANT_URL to a Qdrant server, or use the default FAISS store "
            "(MMRAG_VECTOR_STORE=faiss) on a single machine"
        )
    return reasons
