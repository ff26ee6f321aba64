"""Any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp server, hosted).

Streams with ``"stream": true`` (Server-Sent Events of ``chat.completion.chunk``) and also
accepts a server that ignores it and returns one JSON completion. A text-only request sends
the user message's ``content`` as one string: servers whose model has a text-only chat
template (llama.cpp's server, older vLLM and Ollama models) fail on a list of parts with an
internal error. A list of parts goes only when pictures are sent (``answer_openai_images``),
each as a data URL.

Connection errors and 5xx answers are retried with backoff before the first token; a
timeout (connect, or a gap between chunks longer than the timeout) is not retried, so a
stuck server costs one timeout, and is reported as :class:`BackendTimeout`. A stream that
breaks after HTTP 200 (an error object in it, llama.cpp's ``error:`` field, a
``finish_reason`` of ``error``, or an end without ``[DONE]``) is :class:`BackendUnavailable`
with the server's message: never an answer, never an abstention.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import filetype
import httpx

from generate.backends.prompt import SYSTEM, user_parts
from generate.context import Context
from generate.errors import BackendNotConfigured, BackendTimeout, BackendUnavailable
from mmrag.settings import Settings

_BACKOFF_S = 0.25


class _Retry(Exception):
    pass


class OpenAIBackend:
    name = "openai"

    def __init__(self, settings: Settings) -> None:
        if not settings.answer_openai_url:
            raise BackendNotConfigured(
                "backend 'openai' needs a server: set MMRAG_ANSWER_OPENAI_URL "
                "(e.g. http://127.0.0.1:8001/v1)"
            )
        self.url = settings.answer_openai_url.rstrip("/") + "/chat/completions"
        self.model = settings.answer_openai_model
        self.accepts_images = settings.answer_openai_images
        self.retries = settings.answer_openai_retries
        self.max_tokens = settings.answer_max_new_tokens
        headers = {"accept": "text/event-stream, application/json"}
        if settings.answer_openai_api_key:
            headers["authorization"] = f"Bearer {settings.answer_openai_api_key}"
        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.answer_openai_timeout_s), headers=headers
        )

    def payload(self, context: Context) -> dict[str, Any]:
        """Return the chat-completions request body for ``context``."""
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": self.user_content(context)},
            ],
            "stream": True,
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }

    def user_content(self, context: Context) -> str | list[dict[str, Any]]:
        """Return the user message: one string, or a list of parts when pictures go along."""
        parts = user_parts(context, images=self.accepts_images)
        if all(part.image is None for part in parts):
            return "\n\n".join(part.text or "" for part in parts)
        return [
            {"type": "image_url", "image_url": {"url": data_url(part.image)}}
            if part.image is not None
            else {"type": "text", "text": part.text or ""}
            for part in parts
        ]

    def stream(self, context: Context) -> Iterator[str]:
        body = self.payload(context)
        for attempt in range(self.retries + 1):
            try:
                yield from self._request(body)
                return
            except _Retry as exc:
                if attempt == self.retries:
                    raise BackendUnavailable(
                        f"backend 'openai' at {self.url} failed after {attempt + 1} attempts: {exc}"
                    ) from None
                time.sleep(_BACKOFF_S * 2**attempt)

    def _request(self, body: dict[str, Any]) -> Iterator[str]:
        started = False
        try:
            with self.client.stream("POST", self.url, json=body) as response:
                if response.status_code >= 500:
                    raise _Retry(f"HTTP {response.status_code}: {_excerpt(response)}")
                if response.status_code >= 400:
                    raise BackendUnavailable(
                        f"backend 'openai' at {self.url} refused the request: "
                        f"HTTP {response.status_code}: {_excerpt(response)}"
                    )
                for piece in _pieces(response):
                    started = True
                    yield piece
        except httpx.TimeoutException:
            raise BackendTimeout(
                f"backend 'openai' at {self.url} did not answer within "
                f"{self.client.timeout.read:g} s"
            ) from None
        except httpx.TransportError as exc:
            if started:  # tokens already went out: a retry would repeat them
                raise BackendUnavailable(
                    f"backend 'openai' at {self.url} broke off its answer: {exc}"
                ) from None
            raise _Retry(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self.client.close()


def _pieces(response: httpx.Response) -> Iterator[str]:
    """Yield content deltas of an SSE stream, or the message of a plain JSON completion."""
    if response.headers.get("content-type", "").startswith("application/json"):
        response.read()
        yield _message(response.json())
        return
    for line in response.iter_lines():
        field, _, data = line.partition(":")
        data = data.strip()
        if field == "error":  # llama.cpp before late 2025: a non-standard SSE field
            raise BackendUnavailable(f"backend 'openai' failed mid-answer: {_server_message(data)}")
        if field != "data" or not data:
            continue
        if data == "[DONE]":
            return
        yield from _delta(data)
    raise BackendUnavailable(
        "backend 'openai' broke off its answer: the stream ended without [DONE]"
    )


def _delta(data: str) -> Iterator[str]:
    """Yield the content of one ``chat.completion.chunk``; raise on an error event."""
    try:
        event = json.loads(data)
        choices = event.get("choices") or [{}]
    except (json.JSONDecodeError, AttributeError):
        raise BackendUnavailable(
            f"backend 'openai' sent a malformed event: {data[:200]!r}"
        ) from None
    if event.get("error"):
        raise BackendUnavailable(
            f"backend 'openai' failed mid-answer: {_server_message(event['error'])}"
        )
    if choices[0].get("finish_reason") == "error":
        raise BackendUnavailable("backend 'openai' failed mid-answer: finish_reason 'error'")
    content = (choices[0].get("delta") or {}).get("content")
    if content:
        yield content


def _server_message(error: Any) -> str:
    """Return the message of an OpenAI-style error object (or the raw text, shortened)."""
    if isinstance(error, str):
        try:
            error = json.loads(error)
        except json.JSONDecodeError:
            return error[:300]
    if isinstance(error, dict):
        inner = error.get("error", error)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
        if isinstance(inner, str):
            return inner[:300]
    return str(error)[:300]


def _message(body: Any) -> str:
    if isinstance(body, dict) and body.get("error"):
        raise BackendUnavailable(f"backend 'openai' answered an error: {_server_message(body)}")
    try:
        return str(body["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        raise BackendUnavailable(
            f"backend 'openai' sent no choices[0].message.content: {str(body)[:200]}"
        ) from None


def _excerpt(response: httpx.Response) -> str:
    response.read()
    return _server_message(response.text)


def data_url(image: bytes) -> str:
    """Return ``image`` as a ``data:`` URL with its sniffed media type."""
    kind = filetype.guess_mime(image) or "image/png"
    return f"data:{kind};base64,{base64.b64encode(image).decode()}"
