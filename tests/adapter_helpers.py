"""Helpers for the adapter tests: providers, canned streams, real local servers,
and payloads recorded from real servers.

The Capture constants at the end are verbatim response bodies recorded from
real servers (llama-server b11434, llama-cpp-python 0.3.36, and the
ollama-proxy-plus emulation, used for NDJSON framing only), kept here so the
suite needs no network and no recordings outside the repository. The request each was an answer to is kept too.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rfctl.config import KINDS, ProviderConfig
from rfctl.providers import make_adapter
from rfctl.providers.base import Timeouts

# Generous enough never to fire in a passing test, small enough to fail fast.
FAST = Timeouts(connect=2.0, first_byte=3.0, stall=3.0, attempt=5.0)

SECRET = "sk-test-Zq8Xv2Lp9Rt4Wm7Ny3Kb"  # a key that must never show up anywhere


def provider(
    kind: str,
    base_url: str | None = None,
    *,
    key: str | None = None,
    model: str | None = None,
    name: str | None = None,
    headers: dict | None = None,
) -> ProviderConfig:
    return ProviderConfig(
        name or kind,
        kind,
        (base_url or KINDS[kind][0]).rstrip("/"),
        api_key_env=None,
        api_key=key,
        model=model,
        headers=headers or {},
    )


def adapter(kind: str, base_url: str | None = None, **kw):
    return make_adapter(provider(kind, base_url, **kw))


def reset_caches() -> None:
    """Forget per-process discoveries (first listed model, stream_options refusals)."""
    from rfctl.providers.discovery import forget

    forget()


def sent_json(call) -> dict:
    """The JSON body of a request recorded by `responses`."""
    return json.loads(call.request.body)


# ---------------------------------------------------------------- canned streams


def sse(*objs, done: bool = True) -> str:
    """An OpenAI-style stream: one `data:` event per object, then [DONE]."""
    out = "".join(f"data: {o if isinstance(o, str) else json.dumps(o)}\n\n" for o in objs)
    return out + ("data: [DONE]\n\n" if done else "")


def events(*pairs) -> str:
    """An Anthropic-style stream from (event name, data object) pairs."""
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in pairs)


def ndjson(*objs) -> str:
    return "".join(json.dumps(o) + "\n" for o in objs)


def pieces(data: bytes, sizes: Iterable[int] = (1, 2, 3, 5, 7)) -> list[bytes]:
    """Cut bytes at odd boundaries (cycling through `sizes`): splits UTF-8 sequences."""
    sizes = list(sizes)
    out, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        out.append(data[i : i + n])
        i, k = i + n, k + 1
    return out


class _Pieces(io.RawIOBase):
    def __init__(self, chunks: list[bytes]):
        self.chunks = list(chunks)

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if not self.chunks:
            return 0
        chunk = self.chunks.pop(0)
        buf[: len(chunk)] = chunk
        return len(chunk)


def trickle(data: bytes | str, sizes: Iterable[int] = (1, 2, 3, 5, 7)) -> io.BufferedReader:
    """A `responses` body that hands the adapter one small piece per read."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return io.BufferedReader(_Pieces(pieces(data, sizes)), buffer_size=64)


# ---------------------------------------------------------------- real local servers


class LocalServer:
    """A raw HTTP server on 127.0.0.1 whose every connection runs `script`.

    script(conn, request) writes whatever bytes it likes (headers included) and
    may wait on `self.release` to hold the connection open. Closing the server
    sets `release`, so held connections end and the thread exits.
    """

    def __init__(self, script: Callable[[socket.socket, bytes, LocalServer], None]):
        self.script = script
        self.release = threading.Event()
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.release.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            request = _read_request(conn)
            self.requests.append(request)
            with contextlib.suppress(OSError):  # the client went away: fine
                self.script(conn, request, self)

    def close(self) -> None:
        self.release.set()
        self.sock.close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def response_head(
    status: int = 200, content_type: str = "text/event-stream", extra: str = ""
) -> bytes:
    """Headers of a response whose body runs until the connection closes."""
    reason = {200: "OK", 400: "Bad Request", 500: "Internal Server Error"}.get(status, "X")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Connection: close\r\n{extra}\r\n"
    ).encode()


def send_slowly(conn: socket.socket, chunks: Iterable[bytes], gap: float = 0.005) -> None:
    """Each chunk in its own TCP segment, so the client sees the same boundaries."""
    for chunk in chunks:
        conn.sendall(chunk)
        time.sleep(gap)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- recorded payloads


@dataclass(frozen=True)
class Capture:
    method: str
    path: str
    status: int
    content_type: str
    request_json: str | None  # None when the capture abridged the request
    text: str  # the response body, verbatim

    @property
    def body(self) -> bytes:
        return self.text.encode("utf-8")

    @property
    def request(self) -> dict | None:
        return None if self.request_json is None else json.loads(self.request_json)

    def json(self):
        return json.loads(self.text)

    def add(self, rsps, url: str, method: str | None = None, **kw) -> None:
        """Register this capture as the `responses` answer for url."""
        rsps.add(
            method or self.method,
            url,
            body=self.body,
            status=self.status,
            content_type=self.content_type,
            **kw,
        )


# llama-server/chat_nonstream.txt
LS_CHAT = Capture(
    "POST",
    "/v1/chat/completions",
    200,
    "application/json; charset=utf-8",
    '{"model": "gemma-3-270m-q4_k_m.gguf", "messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is 2+2?"}], "max_tokens": 24, "temperature": 0}',
    (
        '{"choices":[{"finish_reason":"length","index":0,"message":{"role":"assistant","content":"What is 2+2?\\n<|im_end|>\\n<|im_start|>student\\nWhat"}}],"created":1795917591,"model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion","usage":{"completion_tokens":24,"prompt_tokens":47,"total_tokens":71,"prompt_tokens_details":{"cached_tokens":0}},"id":"chatcmpl-MhLlW7A0b4m7cfeSSFSF3ehE6eAX6glU","timings":{"cache_n":0,"prompt_n":47,"prompt_ms":6571.084,"prompt_per_token_ms":139.8102978723404,"prompt_per_second":7.152548955393052,"predicted_n":24,"predicted_ms":16417.962,"predicted_per_token_ms":713.8244347826087,"predicted_per_second":1.4009046920683579}}'
    ),
)

# llama-server/chat_stream_usage.txt
LS_CHAT_STREAM_USAGE = Capture(
    "POST",
    "/v1/chat/completions",
    200,
    "text/event-stream",
    '{"model": "gemma-3-270m-q4_k_m.gguf", "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 24, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}',
    (
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1795917591,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"What"}}],"created":1795917591,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":" is"}}],"created":1795917591,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":" "}}],"created":1795917591,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"2"}}],"created":1795917591,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"+"}}],"created":1795917591,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"2"}}],"created":1795917592,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"?"}}],"created":1795917592,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"\\n"}}],"created":1795917592,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"<"}}],"created":1795917592,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|"}}],"created":1795917592,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"im"}}],"created":1795917592,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"_"}}],"created":1795917592,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"end"}}],"created":1795917592,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|>"}}],"created":1795917592,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"\\n"}}],"created":1795917593,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"<"}}],"created":1795917593,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|"}}],"created":1795917593,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"im"}}],"created":1795917593,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"_"}}],"created":1795917593,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"start"}}],"created":1795917593,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|>"}}],"created":1795917593,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"\\n"}}],"created":1795917594,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"<"}}],"created":1795917594,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|"}}],"created":1795917594,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":"length","index":0,"delta":{}}],"created":1795917594,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[],"created":1795917594,"id":"chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk","usage":{"completion_tokens":24,"prompt_tokens":30,"total_tokens":54,"prompt_tokens_details":{"cached_tokens":0}},"timings":{"cache_n":0,"prompt_n":30,"prompt_ms":524.318,"prompt_per_token_ms":17.477266666666665,"prompt_per_second":57.217184990788034,"predicted_n":24,"predicted_ms":2639.517,"predicted_per_token_ms":114.76160869565217,"predicted_per_second":8.71371542596619}}\n'
        "\n"
        "data: [DONE]\n"
        "\n"
    ),
)

# llama-server/chat_stream_nousage.txt
LS_CHAT_STREAM_NOUSAGE = Capture(
    "POST",
    "/v1/chat/completions",
    200,
    "text/event-stream",
    '{"model": "gemma-3-270m-q4_k_m.gguf", "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 24, "temperature": 0, "stream": true}',
    (
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1795917594,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"What"}}],"created":1795917594,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":" is"}}],"created":1795917594,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":" "}}],"created":1795917594,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"2"}}],"created":1795917594,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"+"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"2"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"?"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"\\n"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"<"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"im"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"_"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"end"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|>"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"\\n"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"<"}}],"created":1795917595,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|"}}],"created":1795917596,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"im"}}],"created":1795917596,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"_"}}],"created":1795917596,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"start"}}],"created":1795917596,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|>"}}],"created":1795917596,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"\\n"}}],"created":1795917596,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"<"}}],"created":1795917596,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"|"}}],"created":1795917596,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}\n'
        "\n"
        'data: {"choices":[{"finish_reason":"length","index":0,"delta":{}}],"created":1795917596,"id":"chatcmpl-L5tmoHuvlTiFS9444IbBP0LB6S1yGO2X","model":"gemma-3-270m-q4_k_m.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk","timings":{"cache_n":25,"prompt_n":5,"prompt_ms":504.61,"prompt_per_token_ms":100.922,"prompt_per_second":9.908642317829612,"predicted_n":24,"predicted_ms":1819.799,"predicted_per_token_ms":79.12169565217391,"predicted_per_second":12.63875845629105}}\n'
        "\n"
        "data: [DONE]\n"
        "\n"
    ),
)

# llama-server/anthropic_messages_nonstream.txt
LS_MESSAGES = Capture(
    "POST",
    "/v1/messages",
    200,
    "application/json; charset=utf-8",
    '{"model": "gemma-3-270m-q4_k_m.gguf", "max_tokens": 24, "system": "Answer briefly.", "messages": [{"role": "user", "content": "What is 2+2?"}], "temperature": 0}',
    (
        '{"id":"chatcmpl-JiBrElOUOknMZnQ2P7oAoSHZXX3iZ5DZ","type":"message","role":"assistant","content":[{"type":"text","text":"What is 2+2?\\n<|im_end|>\\n<|im_start|>student\\nWhat"}],"model":"gemma-3-270m-q4_k_m.gguf","stop_reason":"max_tokens","stop_sequence":null,"usage":{"cache_read_input_tokens":42,"input_tokens":5,"output_tokens":24}}'
    ),
)

# llama-server/anthropic_messages_stream.txt
LS_MESSAGES_STREAM = Capture(
    "POST",
    "/v1/messages",
    200,
    "text/event-stream",
    '{"model": "gemma-3-270m-q4_k_m.gguf", "max_tokens": 24, "messages": [{"role": "user", "content": "What is 2+2?"}], "temperature": 0, "stream": true}',
    (
        "event: message_start\n"
        'data: {"type":"message_start","message":{"id":"chatcmpl-lotf1hyyeTS3sZPG9dyyCWlMD62caGVu","type":"message","role":"assistant","content":[],"model":"gemma-3-270m-q4_k_m.gguf","stop_reason":null,"stop_sequence":null,"usage":{"cache_read_input_tokens":25,"input_tokens":5,"output_tokens":0}}}\n'
        "\n"
        "event: content_block_start\n"
        'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"What"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" is"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" "}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"2"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"+"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"2"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"?"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\n"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"<"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"|"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"im"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"_"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"end"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"|>"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\n"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"<"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"|"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"im"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"_"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"start"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"|>"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\n"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"<"}}\n'
        "\n"
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"|"}}\n'
        "\n"
        "event: content_block_stop\n"
        'data: {"type":"content_block_stop","index":0}\n'
        "\n"
        "event: message_delta\n"
        'data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":24}}\n'
        "\n"
        "event: message_stop\n"
        'data: {"type":"message_stop"}\n'
        "\n"
    ),
)

# llama-server/get_v1_models.txt
LS_V1_MODELS = Capture(
    "GET",
    "/v1/models",
    200,
    "application/json; charset=utf-8",
    None,
    (
        '{"models":[{"name":"gemma-3-270m-q4_k_m.gguf","model":"gemma-3-270m-q4_k_m.gguf","modified_at":"","size":"","digest":"","type":"model","description":"","tags":[""],"capabilities":["completion"],"parameters":"","details":{"parent_model":"","format":"gguf","family":"","families":[""],"parameter_size":"","quantization_level":""}}],"object":"list","data":[{"id":"gemma-3-270m-q4_k_m.gguf","aliases":["gemma-3-270m-q4_k_m.gguf"],"tags":[],"object":"model","architecture":{"input_modalities":["text"],"output_modalities":["text"]},"created":1795917562,"owned_by":"llamacpp","meta":{"vocab_type":1,"n_vocab":262144,"n_ctx":2048,"n_ctx_train":32768,"n_embd":640,"n_params":268098176,"size":246587904,"ftype":"Q4_K - Medium"}}]}'
    ),
)

# llama-server/get_props.txt
LS_PROPS = Capture(
    "GET",
    "/props",
    200,
    "application/json; charset=utf-8",
    None,
    (
        '{"default_generation_settings":{"params":{"seed":4294967295,"temperature":0.800000011920929,"dynatemp_range":0.0,"dynatemp_exponent":1.0,"top_k":40,"top_p":0.949999988079071,"min_p":0.05000000074505806,"top_n_sigma":-1.0,"xtc_probability":0.0,"xtc_threshold":0.10000000149011612,"typical_p":1.0,"repeat_last_n":64,"repeat_penalty":1.0,"presence_penalty":0.0,"frequency_penalty":0.0,"dry_multiplier":0.0,"dry_base":1.75,"dry_allowed_length":2,"dry_penalty_last_n":64,"mirostat":0,"mirostat_tau":5.0,"mirostat_eta":0.10000000149011612,"adaptive_target":-1.0,"adaptive_decay":0.8999999761581421,"max_tokens":-1,"n_predict":-1,"n_keep":0,"n_discard":0,"ignore_eos":false,"stream":false,"n_probs":0,"min_keep":0,"chat_format":"Content-only","reasoning_format":"none","reasoning_in_content":false,"generation_prompt":"","samplers":["penalties","dry","top_n_sigma","top_k","typ_p","top_p","min_p","xtc","temperature"],"speculative.types":"none","timings_per_token":false,"post_sampling_probs":false,"backend_sampling":false,"lora":[]},"n_ctx":2048},"total_slots":4,"model_alias":"gemma-3-270m-q4_k_m.gguf","model_ftype":"Q4_K - Medium","model_path":"gemma-3-270m-q4_k_m.gguf","modalities":{"vision":false,"video":false,"audio":false},"media_marker":"<__media_wcEKNmY5EaiFIhHczstSHAyUXJAslREE__>","endpoint_slots":true,"endpoint_props":false,"endpoint_metrics":true,"ui":true,"ui_settings":{},"chat_template":"{%- for message in messages -%}\\n  {{- \'<|im_start|>\' + message.role + \'\\n\' + message.content + \'<|im_end|>\\n\' -}}\\n{%- endfor -%}\\n{%- if add_generation_prompt -%}\\n  {{- \'<|im_start|>assistant\\n\' -}}\\n{%- endif -%}","chat_template_caps":{"supports_object_arguments":false,"supports_parallel_tool_calls":false,"supports_preserve_reasoning":false,"supports_reasoning_effort":false,"supports_string_content":true,"supports_system_role":true,"supports_tool_calls":false,"supports_tools":false,"supports_typed_content":false},"bos_token":"<bos>","eos_token":"<eos>","build_info":"b0-unknown","is_sleeping":false,"cors_proxy_enabled":false}'
    ),
)

# llama-server/get_health.txt
LS_HEALTH = Capture(
    "GET",
    "/health",
    200,
    "application/json; charset=utf-8",
    None,
    ('{"status":"ok"}'),
)

# llama-server/err_bad_json.txt
LS_BAD_JSON = Capture(
    "POST",
    "/v1/chat/completions",
    400,
    "application/json; charset=utf-8",
    None,
    (
        '{"error":{"code":400,"message":"[json.exception.parse_error.101] parse error at line 1, column 3: syntax error while parsing object key - invalid literal; last read: \'{no\'; expected string literal","type":"invalid_request_error"}}'
    ),
)

# llama-server/ollama_api_chat.txt
LS_NOT_FOUND = Capture(
    "POST",
    "/api/chat",
    404,
    "application/json; charset=utf-8",
    '{"model": "gemma-3-270m-q4_k_m.gguf", "messages": [{"role": "user", "content": "Hi"}], "stream": true}',
    ('{"error":{"message":"File Not Found","type":"not_found_error","code":404}}'),
)

# llama-server-ctx512/overflow_chat.txt
LS512_OVERFLOW = Capture(
    "POST",
    "/v1/chat/completions",
    400,
    "application/json; charset=utf-8",
    None,
    (
        '{"error":{"code":400,"message":"request (1209 tokens) exceeds the available context size (512 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":1209,"n_ctx":512}}'
    ),
)

# llama-server-ctx512/overflow_chat_stream.txt
LS512_OVERFLOW_STREAM = Capture(
    "POST",
    "/v1/chat/completions",
    400,
    "application/json; charset=utf-8",
    None,
    (
        '{"error":{"code":400,"message":"request (1209 tokens) exceeds the available context size (512 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":1209,"n_ctx":512}}'
    ),
)

# llama-server-ctx512/overflow_anthropic.txt
LS512_OVERFLOW_MESSAGES = Capture(
    "POST",
    "/v1/messages",
    400,
    "application/json; charset=utf-8",
    None,
    (
        '{"error":{"code":400,"message":"request (1209 tokens) exceeds the available context size (512 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":1209,"n_ctx":512}}'
    ),
)

# llama-cpp-python/chat_nonstream.txt
LCP_CHAT = Capture(
    "POST",
    "/v1/chat/completions",
    200,
    "application/json",
    '{"model": "gemma-3-270m-q4_k_m.gguf", "messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is 2+2?"}], "max_tokens": 24, "temperature": 0}',
    (
        '{"id":"chatcmpl-6b0c26ff-a529-4382-a2d8-d90264bcb5d5","object":"chat.completion","created":1795918380,"model":"gemma-3-270m-q4_k_m.gguf","choices":[{"index":0,"message":{"content":"\\n<</SYS>> What is 2+1? [/INST]\\n<</SYS>> What is 3","role":"assistant"},"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":26,"completion_tokens":24,"total_tokens":50}}'
    ),
)

# llama-cpp-python/chat_stream_usage.txt
LCP_CHAT_STREAM = Capture(
    "POST",
    "/v1/chat/completions",
    200,
    "text/event-stream; charset=utf-8",
    '{"model": "gemma-3-270m-q4_k_m.gguf", "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 24, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}',
    (
        'data: {"id": "chatcmpl-bd4bd477-f1c8-417e-b73d-1f9ab23436ca", "model": "gemma-3-270m-q4_k_m.gguf", "created": 1795918381, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant"}, "logprobs": null, "finish_reason": null}]}\n'
        "\n"
        'data: {"id": "chatcmpl-bd4bd477-f1c8-417e-b73d-1f9ab23436ca", "model": "gemma-3-270m-q4_k_m.gguf", "created": 1795918381, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]}\n'
        "\n"
        "data: [DONE]\n"
        "\n"
    ),
)

# llama-cpp-python/get_v1_models.txt
LCP_MODELS = Capture(
    "GET",
    "/v1/models",
    200,
    "application/json",
    None,
    (
        '{"object":"list","data":[{"id":"gemma-3-270m-q4_k_m.gguf","object":"model","owned_by":"me","permissions":[]}]}'
    ),
)

# llama-cpp-python/err_bad_json.txt
LCP_ERR_500 = Capture(
    "POST",
    "/v1/chat/completions",
    500,
    "text/plain; charset=utf-8",
    None,
    ("Internal Server Error"),
)

# ollama-proxy-plus/api_chat_nonstream.txt
OPP_CHAT = Capture(
    "POST",
    "/api/chat",
    200,
    "application/json",
    '{"model": "local/gemma3-270m", "messages": [{"role": "user", "content": "Count to five."}], "stream": false, "options": {"num_predict": 12}}',
    (
        '{"model":"local/gemma3-270m","created_at":"2026-11-29T02:06:16Z","message":{"role":"assistant","content":"You have already chosen a model.\\nThe model is in"},"done":true,"done_reason":"stop","total_duration":967790169,"load_duration":0,"prompt_eval_count":3,"prompt_eval_duration":0,"eval_count":10,"eval_duration":967790169}'
    ),
)

# ollama-proxy-plus/api_chat_stream.txt
OPP_CHAT_STREAM = Capture(
    "POST",
    "/api/chat",
    200,
    "application/x-ndjson",
    '{"model": "local/gemma3-270m", "messages": [{"role": "user", "content": "Count to five."}], "stream": true, "options": {"num_predict": 12}}',
    (
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:14Z", "message": {"role": "assistant", "content": "P"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:14Z", "message": {"role": "assistant", "content": "ec"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:14Z", "message": {"role": "assistant", "content": "eler"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:14Z", "message": {"role": "assistant", "content": "\\n"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:15Z", "message": {"role": "assistant", "content": "p"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:15Z", "message": {"role": "assistant", "content": "."}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:15Z", "message": {"role": "assistant", "content": "\\n"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:15Z", "message": {"role": "assistant", "content": "P"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:15Z", "message": {"role": "assistant", "content": "ec"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:15Z", "message": {"role": "assistant", "content": "eler"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:15Z", "message": {"role": "assistant", "content": "\\n"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:15Z", "message": {"role": "assistant", "content": "P"}, "done": false}\n'
        '{"model": "local/gemma3-270m", "created_at": "2026-11-29T02:06:15Z", "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop", "total_duration": 1118136648, "load_duration": 0, "prompt_eval_count": 3, "prompt_eval_duration": 0, "eval_count": 9, "eval_duration": 1118145484}\n'
    ),
)

# ollama-proxy-plus/api_version.txt
OPP_VERSION = Capture(
    "GET",
    "/api/version",
    200,
    "application/json",
    None,
    ('{"version":"0.6.5"}'),
)

# ollama-proxy-plus/api_generate_unknown_model.txt
OPP_UNKNOWN_MODEL = Capture(
    "POST",
    "/api/generate",
    400,
    "application/json",
    '{"model": "nosuch/model", "prompt": "hi", "stream": false}',
    (
        '{"error":"Unknown provider prefix: \'nosuch\'. Supported: anthropic, azure, bedrock, deepseek, gemini, groq, kimi, local, mistral, openai, perplexity, together, xai"}'
    ),
)
