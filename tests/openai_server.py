"""A small real server that speaks OpenAI chat completions on 127.0.0.1, for tests.

It behaves like the servers mmrag meets (llama.cpp's ``llama-server``, vLLM, Ollama):

- ``reply`` decides what it answers to each request body; ``mode`` how: ``stream`` (SSE
  chunks, one per word, then ``data: [DONE]``), ``json`` (one completion, as servers that
  ignore "stream" do), ``fail`` (HTTP 500 until ``failures`` is used up, then streams),
  ``slow`` (sleeps ``delay`` seconds before answering), ``error_mid_stream`` (HTTP 200,
  ``break_after`` words, then an error event: what llama.cpp sends when generation fails
  after the response started), ``cut`` (HTTP 200, ``break_after`` words, then the connection
  closes mid-body: a server that crashed or a proxy that gave up), ``no_done`` (the body
  ends cleanly but without ``[DONE]``: a truncated stream).
- ``text_only`` (default True): the model's chat template takes text only, like most GGUF
  models behind llama.cpp's server. A message whose ``content`` is a list of parts then
  fails inside the template with an internal error: HTTP 500 with an OpenAI-style error
  object when not streaming; when streaming, HTTP 200 first and the error object as the
  first event of the stream (llama.cpp answers 200 before it renders the prompt).
- ``legacy_error_field``: send stream errors as llama.cpp builds up to late 2025 did, in a
  non-standard ``error:`` SSE field, followed by ``data: [DONE]``; otherwise as
  ``data: {"error": {...}}`` and the stream ends.

Every request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], str]
TEMPLATE_ERROR = (
    "this model's chat template renders text only: message content must be a string, "
    "got an array of content parts"
)


def first_sentence_of_source_1(body: dict[str, Any]) -> str:
    """Reply with source 1's first sentence cited as [1], plus a claim citing [99]."""
    text = user_text(body)
    found = re.search(r'<source n="1"[^>]*>\n(.*?)\n</source>', text, re.S)
    first = re.split(r"(?<=[.!?])\s", found.group(1))[0].rstrip(".") if found else "Nothing"
    return f"{first} [1]. The moon is made of cheese [99]."


def user_text(body: dict[str, Any]) -> str:
    """Return the text of the last message, whether its content is a string or parts."""
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")


def error_object(message: str, code: int = 500, kind: str = "server_error") -> dict[str, Any]:
    """Return an OpenAI-style error body, as llama.cpp's server writes it."""
    return {"error": {"code": code, "message": message, "type": kind}}


class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, reply: Reply = first_sentence_of_source_1) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = reply
        self.mode = "stream"
        self.failures = 0
        self.delay = 0.0
        self.break_after = 3
        self.text_only = True
        self.legacy_error_field = False
        self.requests: list[dict[str, Any]] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on a slow answer closes the socket: expected here

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            self._send(404, error_object("File Not Found", 404, "not_found_error"))
            return
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        server = self.server
        server.requests.append(body)
        streaming = bool(body.get("stream")) and server.mode != "json"
        if server.mode == "slow":
            time.sleep(server.delay)
        if server.mode == "fail" and server.failures > 0:
            server.failures -= 1
            self._send(500, error_object("the server is overloaded"))
            return
        template_fails = server.text_only and any(
            not isinstance(m["content"], str) for m in body["messages"]
        )
        if template_fails and not streaming:
            self._send(500, error_object(TEMPLATE_ERROR))
            return
        if not streaming:
            message = {"role": "assistant", "content": server.reply(body)}
            self._send(200, {"choices": [{"index": 0, "message": message,
                                          "finish_reason": "stop"}]})  # fmt: skip
            return
        self._start_stream()
        if template_fails:
            self._stream_error(TEMPLATE_ERROR)
            return
        words = re.findall(r"\S+\s*", server.reply(body))
        breaks = server.mode in ("error_mid_stream", "cut")
        for word in words[: server.break_after] if breaks else words:
            self._event({"choices": [{"index": 0, "delta": {"content": word}}]})
        if server.mode == "error_mid_stream":
            self._stream_error("failed to decode the batch: out of memory (KV cache full)")
        elif server.mode == "cut":
            self.close_connection = True  # the body's last chunk never comes
            return
        elif server.mode != "no_done":
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")  # the chunked body's end

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _stream_error(self, message: str) -> None:
        error = error_object(message)
        if self.server.legacy_error_field:
            self._chunk(f"error: {json.dumps(error['error'])}\n\n".encode())
            self._chunk(b"data: [DONE]\n\n")
        else:
            self._event(error)
        self._chunk(b"")

    def _event(self, data: dict[str, Any]) -> None:
        self._chunk(f"data: {json.dumps(data)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def chat_server(reply: Reply = first_sentence_of_source_1) -> Iterator[ChatServer]:
    """Run a :class:`ChatServer` on a free port for the duration of the block."""
    server = ChatServer(reply)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
