"""A fast OpenAI-compatible streaming server on 127.0.0.1 for benchmarks.

Every POST .../chat/completions is answered after a fixed delay (default
50 ms) with a chunked SSE stream shaped like OpenAI's: a role delta, one
content delta per word, a finish chunk, a usage chunk (when the request asks
for it with stream_options.include_usage) and `data: [DONE]`, each chunk a
write of its own as a real server sends tokens. GET .../models lists one
model. Connections are kept alive (HTTP/1.1), one thread per connection,
unless close=True (one answer per connection). usage=False leaves the usage
chunk out even when asked for, as servers that ignore stream_options do.

The server is kept cheap (raw sockets, responses built from a template) so
that on a small machine its own CPU does not distort what is measured on the
client side.

    srv = BenchServer(delay=0.05).start()
    srv.url          # http://127.0.0.1:PORT/v1
    srv.requests     # chat requests answered
    srv.connections  # TCP connections accepted
    srv.stop()
"""

from __future__ import annotations

import json
import socket
import threading
import time

from faults import read_request  # the one request reader of the test servers

WORDS = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog."]


class BenchServer:
    def __init__(
        self,
        delay: float = 0.05,
        words: list[str] | None = None,
        usage: bool = True,
        close: bool = False,
    ):
        self.delay = delay
        # True: one request per connection ("Connection: close"), as servers
        # built on http.server's HTTP/1.0 default behave.
        self.close = close
        self.usage = usage  # False: no usage chunk even when asked (as LocalAI)
        self.words = words or WORDS
        self.port = 0
        self.requests = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._streams: dict[tuple[str, bool], list[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> BenchServer:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(256)
        self.port = s.getsockname()[1]
        self._listener = s
        threading.Thread(target=self._accept_loop, args=(s,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ internals

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while not self._stopping.is_set():
                req, buf = read_request(conn, buf)
                if req is None:
                    return
                method, path, body = req
                if method == "GET":
                    _send_json(
                        conn,
                        {"object": "list", "data": [{"id": "m", "object": "model"}]},
                    )
                    continue
                if self.delay:
                    time.sleep(self.delay)
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {}
                model = str(payload.get("model") or "m")
                asked = bool((payload.get("stream_options") or {}).get("include_usage"))
                usage = self.usage and asked
                with self._lock:
                    self.requests += 1
                if payload.get("stream"):
                    for part in self._stream(model, usage):
                        conn.sendall(part)
                else:
                    _send_json(conn, _completion(model, " ".join(self.words)))
                if self.close:
                    return
        except OSError:
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _stream(self, model: str, usage: bool) -> list[bytes]:
        key = (model, usage)
        parts = self._streams.get(key)
        if parts is None:
            parts = self._streams[key] = _stream_parts(model, self.words, usage, self.close)
        return parts


def _chunk(data: dict | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    body = f"data: {text}\n\n".encode()
    return f"{len(body):x}\r\n".encode() + body + b"\r\n"


def _delta(model: str, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1764000000,
        "model": model,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _stream_parts(model: str, words: list[str], usage: bool, close: bool = False) -> list[bytes]:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n"
        + (b"Connection: close\r\n\r\n" if close else b"Connection: keep-alive\r\n\r\n")
    )
    parts = [head + _chunk(_delta(model, {"role": "assistant", "content": "", "refusal": None}))]
    for i, w in enumerate(words):
        parts.append(_chunk(_delta(model, {"content": w if i == 0 else " " + w})))
    parts.append(_chunk(_delta(model, {}, finish="stop")))
    if usage:
        u = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1764000000,
            "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": len(words),
                "total_tokens": 12 + len(words),
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        }
        parts.append(_chunk(u))
    parts.append(_chunk("[DONE]") + b"0\r\n\r\n")
    return parts


def _completion(model: str, text: str) -> dict:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1764000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    }


def _send_json(conn: socket.socket, obj: dict) -> None:
    body = json.dumps(obj).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    conn.sendall(head + body)
