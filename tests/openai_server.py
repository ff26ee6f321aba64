"""A small real server that speaks OpenAI chat completions on 127.0.0.1, for tests.

``reply`` decides what it answers to each request body; ``mode`` how: ``stream`` (SSE
chunks, one per word), ``json`` (one completion, as servers that ignore "stream" do),
``fail`` (HTTP 500 until ``failures`` is used up, then streams), ``slow`` (sleeps
``delay`` seconds before answering). Every request body is kept in ``requests``.
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


def first_sentence_of_source_1(body: dict[str, Any]) -> str:
    """Reply with source 1's first sentence cited as [1], plus a claim citing [99]."""
    text = user_text(body)
    found = re.search(r'<source n="1"[^>]*>\n(.*?)\n</source>', text, re.S)
    first = re.split(r"(?<=[.!?])\s", found.group(1))[0].rstrip(".") if found else "Nothing"
    return f"{first} [1]. The moon is made of cheese [99]."


def user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")


class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, reply: Reply = first_sentence_of_source_1) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = reply
        self.mode = "stream"
        self.failures = 0
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on a slow answer closes the socket: expected here

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        server = self.server
        server.requests.append(body)
        if server.mode == "slow":
            time.sleep(server.delay)
        if server.mode == "fail" and server.failures > 0:
            server.failures -= 1
            self._send(500, "application/json", b'{"error": "overloaded"}')
            return
        text = server.reply(body)
        if server.mode == "json":
            completion = {"choices": [{"message": {"role": "assistant", "content": text}}]}
            self._send(200, "application/json", json.dumps(completion).encode())
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for word in re.findall(r"\S+\s*", text):
            chunk = {"choices": [{"index": 0, "delta": {"content": word}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def _send(self, status: int, kind: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
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
