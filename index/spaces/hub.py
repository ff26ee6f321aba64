"""Whether models may come from the Hugging Face hub in this process, and why not.

huggingface_hub retries a failed metadata request five times with backoff (1+2+4+8+8 s) for
every file it cannot find locally, logging each try: offline, a default open_clip or CLAP
model took ~70 s and hundreds of warning lines per process to fail. One short probe of the
hub endpoint, made once per process through the hub's own HTTP client (its proxies and
certificates), tells the loaders to look in the local cache only, so a model that is not
there fails at once with one line naming the setting that fixes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from urllib.parse import urlsplit

from mmrag.settings import Settings

log = logging.getLogger(__name__)

# Enough for a TLS handshake across a continent; a hub that slow would not serve weights.
PROBE_TIMEOUT_S = 3.0


def downloads_allowed(settings: Settings) -> bool:
    """Return True when a missing model may be downloaded: not offline and the hub answers."""
    return not settings.offline and not _hub_offline_env() and hub_reachable()


def downloads_refusal(settings: Settings) -> str | None:
    """Return why models cannot be downloaded now (one line naming the setting), else None."""
    if settings.offline:
        return "MMRAG_OFFLINE=1 forbids downloads: set MMRAG_OFFLINE=0 to allow them"
    if _hub_offline_env():
        return "HF_HUB_OFFLINE=1 forbids downloads: unset it to allow them"
    if not hub_reachable():
        return (
            f"{_endpoint_host()} cannot be reached: check the network or proxy, or set "
            "HF_ENDPOINT to a reachable mirror"
        )
    return None


def missing_model(what: str, fix: str, settings: Settings) -> str:
    """Return the one-line reason a model is unavailable: what, why, and the setting to set."""
    if settings.offline:
        return f"{what} is not on this machine and MMRAG_OFFLINE=1 forbids downloads: {fix}"
    if _hub_offline_env():
        return f"{what} is not on this machine and HF_HUB_OFFLINE=1 forbids downloads: {fix}"
    return (
        f"{what} is not on this machine and {_endpoint_host()} cannot be reached: {fix} "
        "(MMRAG_OFFLINE=1 skips the hub)"
    )


@lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """Return whether the hub endpoint answers an HTTP request; probed once per process."""
    from huggingface_hub import constants

    reachable = probe(constants.ENDPOINT)
    if not reachable:
        log.info("model hub %s unreachable: models load from the local cache", _endpoint_host())
    return reachable


def probe(endpoint: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Return True if ``endpoint`` answers any HTTP status within ``timeout`` seconds.

    Runs in a thread because name resolution is not bounded by the client's timeout (a
    resolver behind a dropping firewall can take 20 s or more).
    """
    done = threading.Event()
    answered: list[bool] = []

    def head() -> None:
        from huggingface_hub.utils import get_session

        try:
            get_session().head(endpoint, timeout=timeout, follow_redirects=False)
            answered.append(True)
        except Exception:  # any transport failure (DNS, refused, TLS, proxy) is "unreachable"
            answered.append(False)
        finally:
            done.set()

    threading.Thread(target=head, name="hub-probe", daemon=True).start()
    return done.wait(timeout) and answered == [True]


@contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """Hide transformers' and the hub's progress bars while a model loads, then restore them.

    The "Loading weights" bar of a local load lasts well under a second and, written to
    stderr by every process (Celery relays it as a warning), is noise in service logs.
    Callers hold the registry's load lock, so no other load sees the toggled state.
    """
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


def _hub_offline_env() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _endpoint_host() -> str:
    from huggingface_hub import constants

    return urlsplit(constants.ENDPOINT).hostname or constants.ENDPOINT


def first_line(exc: BaseException, limit: int = 160) -> str:
    """Return the first line of an exception's message, cut to ``limit`` characters.

    Library messages run to paragraphs of advice meant for their own users; a disabled
    space's reason keeps only what went wrong.
    """
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(". ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
