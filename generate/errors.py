"""Errors of the answer stage: a backend that cannot be reached, answer in time, or be used.

They subclass the kernel's :class:`MmragError`, so api/ maps them like every other error;
the message always names the backend.
"""

from __future__ import annotations

from mmrag.errors import MmragError


class BackendUnavailable(MmragError):
    """The backend's server refused, failed or could not be reached."""

    status = 502
    code = "backend_unavailable"


class BackendTimeout(MmragError):
    """The backend did not answer (or stopped answering) within its timeout."""

    status = 504
    code = "backend_timeout"


class BackendNotConfigured(MmragError):
    """The backend needs a setting (server URL, model) that is not given."""

    status = 503
    code = "backend_not_configured"
