"""Stream framing (lines, SSE events, NDJSON records) and its size limit.

Framing must be linear in the bytes received: one huge line arriving in many
reads is joined once, not re-copied on every read. Past MAX_EVENT_BYTES a line,
an event or a whole JSON body fails the attempt with a clear ProviderError,
never a MemoryError.
"""

from __future__ import annotations

import json

import pytest
import responses
from adapter_helpers import FAST, adapter, ndjson, pieces, reset_caches, sse

from rfctl.providers import streams
from rfctl.providers.base import ProviderError, Request
from rfctl.providers.streams import MAX_EVENT_BYTES, Event, iter_lines, iter_ndjson, iter_sse

READ = 65536  # what the transport asks the socket for per read
SMALL = 1 << 20  # the limit for the adapter tests: 1 MiB keeps them quick


@pytest.fixture(autouse=True)
def _fresh():
    reset_caches()


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(streams, "MAX_EVENT_BYTES", SMALL)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


def reads(data: bytes, size: int = READ) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# ---------------------------------------------------------------- lines


@pytest.mark.parametrize(
    "data, lines",
    [
        (b"a\nb\n", ["a", "b"]),
        (b"a\r\nb\r\n", ["a", "b"]),  # CRLF servers
        (b"a\n\nb", ["a", "", "b"]),  # blank lines kept; last line without newline
        ("h\u00e9llo \u2603\n".encode(), ["h\u00e9llo \u2603"]),  # UTF-8 split by the reads
        (b"\xff\n", ["\ufffd"]),  # invalid UTF-8 is replaced, not fatal
    ],
)
def test_lines_from_reads_cut_anywhere(data, lines):
    assert list(iter_lines(pieces(data))) == lines
    assert list(iter_lines([data])) == lines


def test_a_20_mb_line_is_framed_whole():
    # In 4 KiB reads (a slow link): framing that re-copies its buffer on every
    # read takes some ten seconds here; joined once at the newline, a blink.
    line = b'data: {"x": "' + b"y" * (20 * 1000 * 1000) + b'"}'
    got = list(iter_lines(reads(line + b"\nnext\n", 4096)))
    assert len(got) == 2
    assert got[0] == line.decode()
    assert got[1] == "next"


def test_a_line_over_the_limit_fails_clearly():
    line = b"x" * (MAX_EVENT_BYTES + 1)
    with pytest.raises(ProviderError) as e:
        list(iter_lines(reads(line + b"\n")))
    assert e.value.kind == "bad_response"
    assert not e.value.transient
    assert f"exceeds {MAX_EVENT_BYTES >> 20} MiB" in e.value.message


def test_a_line_over_the_limit_fails_before_its_newline_arrives():
    def endless():
        while True:
            yield b"x" * READ

    with pytest.raises(ProviderError, match="exceeds"):
        for _ in iter_lines(endless(), limit=10 * READ):
            pass


def test_a_line_at_the_limit_passes():
    assert list(iter_lines(reads(b"x" * 1000 + b"\n"), limit=1000)) == ["x" * 1000]
    with pytest.raises(ProviderError):
        list(iter_lines(reads(b"x" * 1001 + b"\n"), limit=1000))


# ---------------------------------------------------------------- SSE and NDJSON


def test_sse_events_comments_and_multiline_data():
    lines = [": ping", "event: delta", "data: a", "data: b", "", "data: c", "id: 7", ""]
    assert list(iter_sse(lines)) == [Event("delta", "a\nb"), Event("message", "c")]


def test_sse_error_field_of_old_llama_cpp_becomes_an_error_event():
    lines = ["data: a", 'error: {"message": "boom"}', ""]
    assert list(iter_sse(lines)) == [Event("message", "a"), Event("error", '{"message": "boom"}')]


def test_an_sse_event_of_many_lines_over_the_limit_fails():
    lines = ["data: " + "x" * 100] * 11 + [""]
    with pytest.raises(ProviderError, match="an event of the stream exceeds"):
        list(iter_sse(lines, limit=1000))
    # The limit is per event, not per stream.
    assert len(list(iter_sse((["data: " + "x" * 100] * 5 + [""]) * 10, limit=1000))) == 10


def test_ndjson_records():
    lines = ['{"a": 1}', "", "  ", "not json", "[1]", '{"b": 2}']
    assert list(iter_ndjson(lines)) == [{"a": 1}, None, None, {"b": 2}]


# ---------------------------------------------------------------- through the adapters


def test_a_20_mb_streamed_chunk_reaches_the_answer(rsps):
    text = "y" * (20 * 1000 * 1000)
    delta = {"choices": [{"index": 0, "delta": {"content": text}}]}
    done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    rsps.post("http://127.0.0.1:8080/v1/chat/completions", body=sse(delta, done))
    got = []
    r = adapter("llamacpp", "http://127.0.0.1:8080/v1", model="m").generate(
        Request("hi", stream=True), FAST, got.append
    )
    assert r.text == text
    assert got == [text]
    assert r.finish_reason == "stop"


@pytest.mark.parametrize(
    "kind, url, path, body",
    [
        (
            "llamacpp",
            "http://127.0.0.1:8080/v1",
            "/chat/completions",
            sse(
                {"choices": [{"index": 0, "delta": {"content": "kept"}}]},
                {"choices": [{"index": 0, "delta": {"content": "x" * (SMALL + 1)}}]},
            ),
        ),
        (
            "anthropic",
            "http://127.0.0.1:8080",
            "/v1/messages",
            "event: content_block_delta\n"
            'data: {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "kept"}}'
            "\n\nevent: content_block_delta\ndata: " + "x" * (SMALL + 1) + "\n\n",
        ),
        (
            "ollama",
            "http://127.0.0.1:11434",
            "/api/chat",
            ndjson({"message": {"role": "assistant", "content": "kept"}, "done": False})
            + json.dumps({"message": {"content": "x" * (SMALL + 1)}})
            + "\n",
        ),
    ],
)
def test_an_oversized_stream_event_fails_the_attempt_and_keeps_the_text(
    rsps, small_limit, kind, url, path, body
):
    rsps.post(url + path, body=body)
    with pytest.raises(ProviderError) as e:
        adapter(kind, url, model="m").generate(Request("hi", stream=True), FAST)
    assert e.value.kind == "bad_response"
    assert "exceeds 1 MiB" in e.value.message
    assert e.value.partial_text == "kept"
    assert e.value.accepted


def test_an_oversized_json_body_fails_the_attempt(rsps, small_limit):
    body = json.dumps({"choices": [{"message": {"content": "x" * (SMALL + 1)}}]})
    rsps.post("http://127.0.0.1:8080/v1/chat/completions", body=body)
    with pytest.raises(ProviderError) as e:
        adapter("llamacpp", "http://127.0.0.1:8080/v1", model="m").generate(Request("hi"), FAST)
    assert e.value.kind == "bad_response"
    assert "the response body exceeds 1 MiB" in e.value.message


def test_an_oversized_error_body_still_gives_the_status(rsps, small_limit):
    rsps.post(
        "http://127.0.0.1:8080/v1/chat/completions",
        status=503,
        body="x" * (SMALL + 1),
    )
    with pytest.raises(ProviderError) as e:
        adapter("llamacpp", "http://127.0.0.1:8080/v1", model="m").generate(Request("hi"), FAST)
    assert e.value.status == 503
    assert e.value.transient
