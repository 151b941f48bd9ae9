"""Adapters against real sockets on 127.0.0.1: refused connections, servers
that never answer, streams that stall or break, bytes split mid-character, and
compression. These need a real TCP stack, so `responses` will not do."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from adapter_helpers import (
    SECRET,
    LocalServer,
    adapter,
    events,
    free_port,
    ndjson,
    pieces,
    reset_caches,
    response_head,
    send_slowly,
    sse,
)

from rfctl.providers.base import ProviderError, Request, Timeouts

# kind -> (base_url suffix, model): one adapter of each wire protocol.
PROTOCOLS = {"llamacpp": "/v1", "anthropic": "", "ollama": ""}


@pytest.fixture(autouse=True)
def _fresh():
    reset_caches()


def make(kind: str, url: str, **kw):
    return adapter(kind, url + PROTOCOLS[kind], model="m", **kw)


def openai_chunk(text=None, finish=None) -> dict:
    return {
        "id": "c1",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "delta": {} if text is None else {"content": text},
                "finish_reason": finish,
            }
        ],
    }


def anthropic_delta(text: str) -> tuple:
    return (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
    )


def ollama_line(text: str, done: bool = False) -> dict:
    rec = {"model": "m", "message": {"role": "assistant", "content": text}, "done": done}
    return {**rec, "done_reason": "stop", "eval_count": 3} if done else rec


def stream_of(kind: str, texts: list[str], complete: bool = True) -> bytes:
    """A full (or cut) stream body saying `texts` in the kind's framing."""
    if kind == "llamacpp":
        chunks = [openai_chunk(t) for t in texts]
        return sse(
            *chunks, *([openai_chunk(finish="stop")] if complete else []), done=complete
        ).encode()
    if kind == "anthropic":
        start = (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "model": "m",
                    "content": [],
                    "usage": {"input_tokens": 3},
                },
            },
        )
        end = [
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 3},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return events(
            start, *[anthropic_delta(t) for t in texts], *(end if complete else [])
        ).encode()
    return ndjson(
        *[ollama_line(t) for t in texts], *([ollama_line("", done=True)] if complete else [])
    ).encode()


CONTENT_TYPE = {
    "llamacpp": "text/event-stream",
    "anthropic": "text/event-stream",
    "ollama": "application/x-ndjson",
}


# ---------------------------------------------------------------- connecting


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_connection_refused_is_a_transient_connect_error(kind):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(ProviderError) as e:
        make(kind, url).generate(Request("hi"), Timeouts(connect=2, attempt=5))
    assert e.value.kind == "connect" and e.value.transient
    assert "connection refused" in e.value.message
    assert not e.value.accepted and e.value.partial_text == ""
    assert time.monotonic() - t0 < 2


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_health_of_a_closed_port_is_down_not_an_exception(kind):
    h = make(kind, f"http://127.0.0.1:{free_port()}").health(1.0)
    assert not h.ok and "connection refused" in h.detail


def test_server_that_never_answers_times_out_at_the_first_byte_bound():
    with LocalServer(lambda conn, req, srv: srv.release.wait(10)) as srv:
        t0 = time.monotonic()
        with pytest.raises(ProviderError) as e:
            make("llamacpp", srv.url).generate(
                Request("hi"), Timeouts(connect=1, first_byte=0.3, stall=5, attempt=5)
            )
        elapsed = time.monotonic() - t0
    assert e.value.kind == "timeout" and e.value.transient
    assert 0.25 <= elapsed < 1.5


def test_the_attempt_bound_wins_over_a_longer_first_byte_bound():
    with LocalServer(lambda conn, req, srv: srv.release.wait(10)) as srv:
        t0 = time.monotonic()
        with pytest.raises(ProviderError) as e:
            make("anthropic", srv.url).generate(
                Request("hi", stream=True), Timeouts(connect=1, first_byte=5, stall=5, attempt=0.3)
            )
        elapsed = time.monotonic() - t0
    assert e.value.kind == "timeout" and elapsed < 1.5


# ---------------------------------------------------------------- streams over a socket


@pytest.mark.parametrize("framing", ["close", "chunked"])
@pytest.mark.parametrize("kind", PROTOCOLS)
def test_stream_that_stalls_times_out_with_the_partial_text(kind, framing):
    def script(conn, req, srv):
        body = stream_of(kind, ["Hello", ", wor"], complete=False)
        if framing == "chunked":  # keep-alive, as llama-server and Ollama answer
            conn.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE[kind]}\r\n"
                f"Transfer-Encoding: chunked\r\n\r\n".encode()
            )
            conn.sendall(f"{len(body):x}\r\n".encode() + body + b"\r\n")
        else:
            conn.sendall(response_head(content_type=CONTENT_TYPE[kind]) + body)
        srv.release.wait(10)  # then silence, connection open

    got: list[str] = []
    with LocalServer(script) as srv:
        t0 = time.monotonic()
        with pytest.raises(ProviderError) as e:
            make(kind, srv.url).generate(
                Request("hi", stream=True),
                Timeouts(connect=1, first_byte=2, stall=0.3, attempt=5),
                got.append,
            )
        elapsed = time.monotonic() - t0
    err = e.value
    assert err.kind == "timeout" and err.transient and err.accepted
    assert "stalled" in err.message
    assert err.partial_text == "Hello, wor" == "".join(got)
    assert 0.25 <= elapsed < 1.5


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_stream_cut_by_the_server_is_noticed(kind):
    def script(conn, req, srv):
        conn.sendall(response_head(content_type=CONTENT_TYPE[kind]))
        conn.sendall(stream_of(kind, ["par", "tial"], complete=False))
        # and close: no terminator

    with LocalServer(script) as srv, pytest.raises(ProviderError) as e:
        make(kind, srv.url).generate(
            Request("hi", stream=True), Timeouts(connect=1, first_byte=2, stall=2, attempt=5)
        )
    assert e.value.kind == "stream" and e.value.transient
    assert e.value.partial_text == "partial"


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_utf8_split_across_tcp_segments(kind):
    texts = ["naïve ", "café — ", "日本", "🙂", "ü"]

    def script(conn, req, srv):
        conn.sendall(response_head(content_type=CONTENT_TYPE[kind]))
        send_slowly(conn, pieces(stream_of(kind, texts), (1, 2, 3, 5, 11, 2)), gap=0.0005)

    got: list[str] = []
    with LocalServer(script) as srv:
        result = make(kind, srv.url).generate(
            Request("hi", stream=True),
            Timeouts(connect=1, first_byte=2, stall=2, attempt=10),
            got.append,
        )
    assert got == texts and result.text == "".join(texts)
    assert result.finish_reason == "stop"


def test_stream_request_on_the_wire():
    """What a real server receives: method, path, headers, JSON body."""

    def script(conn, req, srv):
        conn.sendall(response_head())
        conn.sendall(stream_of("anthropic", ["ok"]))

    with LocalServer(script) as srv:
        make("anthropic", srv.url, key=SECRET).generate(
            Request("hi", system="s", stream=True), Timeouts(attempt=5)
        )
        raw = srv.requests[0]
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/messages HTTP/1.1"
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    assert headers["x-api-key"] == SECRET and headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("rfctl/")
    assert json.loads(body)["stream"] is True and json.loads(body)["system"] == "s"


# ---------------------------------------------------------------- compression


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_servers_that_compress_when_asked_still_work(kind):
    """Cloudflare-fronted APIs gzip JSON when the client says it accepts gzip."""
    answers = {
        "llamacpp": {
            "id": "x",
            "model": "m",
            "choices": [{"index": 0, "message": {"content": "zipped"}, "finish_reason": "stop"}],
        },
        "anthropic": {
            "id": "x",
            "type": "message",
            "model": "m",
            "stop_reason": "end_turn",
            "content": [{"type": "text", "text": "zipped"}],
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
        "ollama": {
            "model": "m",
            "message": {"role": "assistant", "content": "zipped"},
            "done": True,
            "done_reason": "stop",
        },
    }

    def script(conn, req, srv):
        body = json.dumps(answers[kind]).encode()
        extra = ""
        if b"gzip" in req.split(b"\r\n\r\n")[0].lower():
            body, extra = gzip.compress(body), "Content-Encoding: gzip\r\n"
        conn.sendall(
            response_head(
                content_type="application/json", extra=extra + f"Content-Length: {len(body)}\r\n"
            )
            + body
        )

    with LocalServer(script) as srv:
        result = make(kind, srv.url).generate(Request("hi"), Timeouts(attempt=5))
    assert result.text == "zipped"


# ---------------------------------------------------------------- errors over a socket


def test_error_status_body_is_read_and_classified():
    body = json.dumps(
        {
            "error": {
                "code": 400,
                "message": "request (1209 tokens) exceeds the "
                "available context size (512 tokens), try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 1209,
                "n_ctx": 512,
            }
        }
    ).encode()

    def script(conn, req, srv):
        conn.sendall(
            response_head(
                400, "application/json; charset=utf-8", f"Content-Length: {len(body)}\r\n"
            )
            + body
        )

    with LocalServer(script) as srv, pytest.raises(ProviderError) as e:
        make("llamacpp", srv.url).generate(Request("x" * 100, stream=True), Timeouts(attempt=5))
    assert (e.value.kind, e.value.status, e.value.transient) == ("context", 400, False)


# ---------------------------------------------------------------- connection reuse


def test_a_stream_whose_tail_never_comes_is_closed_not_pooled():
    """After `data: [DONE]` the reader stops; the rest of the body (the
    chunked terminator) is read for a moment so the connection can be reused.
    A server that never sends it costs that moment, not a timeout, and its
    connection is dropped: the next call goes out on a fresh one."""
    body = stream_of("llamacpp", ["Hel", "lo"])

    def script(conn, req, srv):
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        conn.sendall(f"{len(body):x}\r\n".encode() + body + b"\r\n")
        srv.release.wait(10)  # no terminating chunk, connection held open

    with LocalServer(script) as srv:
        a = make("llamacpp", srv.url)
        t = Timeouts(connect=1, first_byte=3, stall=3, attempt=3)
        for _ in range(2):
            t0 = time.monotonic()
            assert a.generate(Request("hi", stream=True), t).text == "Hello"
            assert time.monotonic() - t0 < 1.0  # drained for at most 0.25 s
        assert len(srv.requests) == 2  # each on its own connection, both answered
