"""A fault-injecting OpenAI chat-completions server on 127.0.0.1, real sockets.

The router's behaviour is about what happens on the wire when things go
wrong, so this server speaks raw HTTP/1.1 over a plain socket: it can reset a
connection before the headers, accept a request and never answer, stall a
stream with the connection open, cut a chunked body mid-way, or send a
malformed SSE chunk; things an HTTP mocking library cannot do.

    srv = FaultServer([Status(429, headers={"Retry-After": "0.3"})])  # then the default, OK()
    srv.start()
    ... point a provider at srv.url (http://127.0.0.1:PORT/v1) ...
    srv.seen      # every chat request: time (monotonic), body, stream flag
    srv.gaps()    # seconds between consecutive requests
    srv.connections  # TCP connections accepted (a cooling provider gets none)
    srv.stop()    # closes the listener: connections are now refused
    srv.start()   # same port again (a provider that recovers)

Each POST /v1/chat/completions takes the next action from the script, then
`default` forever. Streams are chunked SSE exactly as OpenAI sends them:
role delta, one content delta per word, a finish chunk, a usage chunk (when
asked for with stream_options.include_usage), then `data: [DONE]`.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

ANSWER = "The quick brown fox jumps over the lazy dog."


# ---------------------------------------------------------------- actions


@dataclass
class OK:
    """A normal answer, streamed or not as the request asks."""

    text: str = ANSWER
    first_token_delay: float = 0.0  # after the headers, before the first content
    usage: bool = True


@dataclass
class Status:
    """An error status with an OpenAI error envelope."""

    code: int
    message: str = "error"
    type: str | None = None
    err_code: str | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Reset:
    """Read the request, then reset the connection before any header (RST)."""


@dataclass
class Silent:
    """Read the request, then say nothing, holding the connection open."""


@dataclass
class Cut:
    """Stream `after` content chunks, then drop the connection mid-body."""

    after: int = 3
    text: str = ANSWER


@dataclass
class Stall:
    """Stream `after` content chunks, then go quiet with the connection open."""

    after: int = 3
    text: str = ANSWER


@dataclass
class Malformed:
    """A chunk that is not JSON after `at` content chunks; the rest follows."""

    at: int = 2
    text: str = ANSWER


@dataclass
class NoDone:
    """A stream that ends cleanly without `data: [DONE]`; with complete=False
    it also lacks the finish chunk (an answer that may be incomplete)."""

    complete: bool = True
    text: str = ANSWER


def context_too_long() -> Status:
    return Status(
        400,
        "This model's maximum context length is 4096 tokens. However, you "
        "requested 9000 tokens. Please reduce the length of the messages.",
        "invalid_request_error",
        "context_length_exceeded",
    )


def content_policy() -> Status:
    return Status(
        400,
        "Your request was rejected as a result of our safety system. "
        "Your prompt may contain text that is not allowed by our safety system.",
        "invalid_request_error",
        "content_policy_violation",
    )


# ---------------------------------------------------------------- server


@dataclass
class Seen:
    t: float  # time.monotonic() when the request was read
    path: str
    body: dict
    action: str

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def model(self) -> str | None:
        return self.body.get("model")


class FaultServer:
    def __init__(self, script=(), default=None, port: int = 0):
        self.script = deque(script)
        self.default = default if default is not None else OK()
        self.port = port
        self.seen: list[Seen] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------ control

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FaultServer:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self._listener = s
        self._stopping = threading.Event()
        t = threading.Thread(target=self._accept_loop, args=(s, self._stopping), daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        """Close the listener and every open connection: the port now refuses."""
        self._stopping.set()
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone
            # would leave the kernel socket listening until accept returned.
            _close(self._listener)
            self._listener = None
        for t in self._threads:
            t.join(timeout=5)
        self._threads = [t for t in self._threads if t.is_alive()]
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _close(c)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def then(self, *actions) -> None:
        with self._lock:
            self.script.extend(actions)

    def chat(self) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith("/chat/completions")]

    def gaps(self) -> list[float]:
        ts = [s.t for s in self.chat()]
        return [b - a for a, b in zip(ts, ts[1:], strict=False)]

    # ------------------------------------------------------------ internals

    def _accept_loop(self, listener: socket.socket, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            # As real servers do: no Nagle delay on small writes to a reused connection.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
                self._conns.add(conn)
            t = threading.Thread(target=self._serve, args=(conn, stopping), daemon=True)
            t.start()

    def _next_action(self):
        with self._lock:
            return self.script.popleft() if self.script else self.default

    def _serve(self, conn: socket.socket, stopping: threading.Event) -> None:
        buf = b""
        try:
            while not stopping.is_set():
                req, buf = read_request(conn, buf)
                if req is None:
                    return
                method, path, body = req
                keep = self._respond(conn, method, path, body, stopping)
                if not keep:
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            _close(conn)

    def _respond(self, conn, method: str, path: str, body: bytes, stopping) -> bool:
        if method == "GET":
            if path.endswith("/models"):
                _send_json(
                    conn,
                    200,
                    {
                        "object": "list",
                        "data": [{"id": "fault-model", "object": "model", "owned_by": "faults"}],
                    },
                )
            else:
                _send_json(conn, 200, {"status": "ok"})
            return True
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        action = self._next_action()
        with self._lock:
            self.seen.append(Seen(time.monotonic(), path, payload, type(action).__name__))
        model = payload.get("model") or "fault-model"
        stream = bool(payload.get("stream"))
        usage = bool((payload.get("stream_options") or {}).get("include_usage")) or not stream

        if isinstance(action, Status):
            err = {"message": action.message, "type": action.type, "code": action.err_code}
            _send_json(conn, action.code, {"error": err}, action.headers)
            return True
        if isinstance(action, Reset):
            _reset(conn)
            return False
        if isinstance(action, Silent):
            stopping.wait(60)
            return False
        if not stream:
            if isinstance(action, OK):
                if action.first_token_delay:
                    stopping.wait(action.first_token_delay)
                _send_json(conn, 200, _completion(model, action.text, payload))
                return True
            if isinstance(action, Stall):
                conn.sendall(_head(200, "application/json", None))
                stopping.wait(60)
                return False
            # Cut, Malformed, NoDone on a plain request: half a JSON body.
            conn.sendall(_head(200, "application/json", 1000) + b'{"id": "chatcmpl-x", "ch')
            return False
        return self._stream(conn, action, model, payload, usage, stopping)

    def _stream(self, conn, action, model, payload, usage, stopping) -> bool:
        conn.sendall(_head(200, "text/event-stream", None, chunked=True))
        text = getattr(action, "text", ANSWER)
        words = _words(text)
        send = lambda data: _chunk(conn, f"data: {data}\n\n".encode())  # noqa: E731
        send(json.dumps(_delta(model, {"role": "assistant", "content": ""})))
        delay = action.first_token_delay if isinstance(action, OK) else 0.0
        if delay and stopping.wait(delay):
            return False  # the server is stopping
        for i, w in enumerate(words):
            if isinstance(action, Cut) and i == action.after:
                _reset(conn)
                return False
            if isinstance(action, Stall) and i == action.after:
                stopping.wait(60)
                return False
            if isinstance(action, Malformed) and i == action.at:
                send('{"id": "chatcmpl-1", "choices": [{"delta": {"content": "oops')
            send(json.dumps(_delta(model, {"content": w})))
        if isinstance(action, NoDone) and not action.complete:
            conn.sendall(b"0\r\n\r\n")
            return False
        send(json.dumps(_delta(model, {}, finish="stop")))
        if usage and not (isinstance(action, OK) and not action.usage):
            send(
                json.dumps(
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion.chunk",
                        "created": 1764000000,
                        "model": model,
                        "choices": [],
                        "usage": _usage(payload, text),
                    }
                )
            )
        if not isinstance(action, NoDone):
            send("[DONE]")
        conn.sendall(b"0\r\n\r\n")
        return not isinstance(action, NoDone)


# ---------------------------------------------------------------- wire helpers


def _reset(c: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a crashed server or a dropped route does."""
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def _close(c: socket.socket) -> None:
    try:
        c.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        c.close()
    except OSError:
        pass


def read_request(conn: socket.socket, buf: bytes):
    """One HTTP/1.1 request off a kept-alive connection: ((method, path,
    body), what is left of the buffer), or (None, b"") once the peer closed."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length:
        data = conn.recv(65536)
        if not data:
            return None, b""
        rest += data
    return (method, path, rest[:length]), rest[length:]


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    529: "Overloaded",
}


def _head(
    code: int, ctype: str, length: int | None, headers: dict | None = None, chunked: bool = False
) -> bytes:
    lines = [f"HTTP/1.1 {code} {_REASONS.get(code, 'Status')}", f"Content-Type: {ctype}"]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    elif length is not None:
        lines.append(f"Content-Length: {length}")
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _send_json(conn, code: int, obj, headers: dict | None = None) -> None:
    body = json.dumps(obj).encode()
    conn.sendall(_head(code, "application/json", len(body), headers) + body)


def _chunk(conn, data: bytes) -> None:
    conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p + (" " if i < len(parts) - 1 else "") for i, p in enumerate(parts)]


def _delta(model: str, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1764000000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _usage(payload: dict, text: str) -> dict:
    prompt = " ".join(str(m.get("content", "")) for m in payload.get("messages") or [])
    p, c = max(1, len(prompt.split())), len(text.split())
    return {
        "prompt_tokens": p,
        "completion_tokens": c,
        "total_tokens": p + c,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _completion(model: str, text: str, payload: dict) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1764000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(payload, text),
    }
