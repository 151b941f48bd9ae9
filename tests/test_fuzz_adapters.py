"""Stream parsing end to end: each adapter's generate() over a realistic stream
cut at every offset, at hypothesis-chosen offsets, and inside multi-byte
UTF-8 sequences and `\\uXXXX` escapes, must give the same text, usage and
finish reason as the stream in one piece; any bytes at all give a Result or a
ProviderError, never another exception.

The streams follow the shapes recorded from real servers (llama-server's
OpenAI and Anthropic streams, Ollama's NDJSON): a first delta with null
content, comments and pings, a usage-only final chunk, CRLF line ends.
HTTP is mocked with `responses` (a body that yields exactly the chosen
chunks); a few cases go over a real local socket, one TCP segment per chunk.
"""

from __future__ import annotations

import pytest
import responses
from adapter_helpers import (
    FAST,
    LocalServer,
    adapter,
    reset_caches,
    response_head,
    send_slowly,
)
from fuzz_helpers import (
    ChunkedBody,
    chunkings,
    encodable,
    every_awkward_split,
    fuzz,
    split_at,
    two_way_splits,
)
from hypothesis import given
from hypothesis import strategies as st

from rfctl.providers.base import ProviderError, Request

BASE = {
    "openai": "http://127.0.0.1:9/v1",
    "anthropic": "http://127.0.0.1:9",
    "ollama": "http://127.0.0.1:9",
}
PATH = {"openai": "/chat/completions", "anthropic": "/v1/messages", "ollama": "/api/chat"}
CONTENT_TYPE = {
    "openai": "text/event-stream",
    "anthropic": "text/event-stream",
    "ollama": "application/x-ndjson",
}
KINDS = list(BASE)

# Each text piece as the server writes it inside its JSON: raw UTF-8 of two,
# three and four bytes, BMP escapes, an escaped surrogate pair inside one
# event, an escaped newline.
PIECES = [
    '"Grüße, "',
    '"日本"',
    '"\\u00e9t\\u00e9 "',
    '"😀"',
    '"\\ud83d\\ude00"',
    '"!\\n"',
]
TEXT = "Grüße, 日本été 😀😀!\n"
USAGE = (11, 7)  # input, output tokens


@pytest.fixture(autouse=True)
def _fresh():
    reset_caches()


# ---------------------------------------------------------------- realistic streams


def openai_stream(pieces: list[str], eol: str = "\n") -> bytes:
    """llama-server's chat stream: null first delta, a ping comment, text
    deltas, a finish chunk, the include_usage chunk, [DONE]."""
    meta = '"created":1795917591,"id":"chatcmpl-7","model":"gemma-3-270m","object":"chat.completion.chunk"'
    events = [
        '{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],'
        + meta
        + "}"
    ]
    events += [
        '{"choices":[{"finish_reason":null,"index":0,"delta":{"content":' + p + "}}]," + meta + "}"
        for p in pieces
    ]
    events.append('{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],' + meta + "}")
    events.append(
        '{"choices":[],"usage":{"completion_tokens":7,"prompt_tokens":11,"total_tokens":18},'
        + meta
        + "}"
    )
    out = ": ping" + eol + eol
    out += "".join(f"data: {e}{eol}{eol}" for e in events)
    return (out + f"data: [DONE]{eol}{eol}").encode("utf-8")


def anthropic_stream(pieces: list[str], eol: str = "\n") -> bytes:
    """An Anthropic Messages stream, ping and block start/stop included."""
    events = [
        (
            "message_start",
            '{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",'
            '"model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,'
            '"usage":{"input_tokens":11,"output_tokens":1}}}',
        ),
        (
            "content_block_start",
            '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
        ),
        ("ping", '{"type": "ping"}'),
    ]
    events += [
        (
            "content_block_delta",
            '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
            + p
            + "}}",
        )
        for p in pieces
    ]
    events += [
        ("content_block_stop", '{"type":"content_block_stop","index":0}'),
        (
            "message_delta",
            '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
            '"usage":{"output_tokens":7}}',
        ),
        ("message_stop", '{"type":"message_stop"}'),
    ]
    out = "".join(f"event: {name}{eol}data: {data}{eol}{eol}" for name, data in events)
    return out.encode("utf-8")


def ollama_stream(pieces: list[str], eol: str = "\n") -> bytes:
    """Ollama's /api/chat NDJSON: one record per piece, then done: true with counts."""
    lines = [
        '{"model":"llama3.2","created_at":"2026-11-29T02:06:14Z","message":{"role":"assistant",'
        '"content":' + p + '},"done":false}'
        for p in pieces
    ]
    lines.append(
        '{"model":"llama3.2","created_at":"2026-11-29T02:06:15Z","message":{"role":"assistant",'
        '"content":""},"done":true,"done_reason":"stop","total_duration":1118136648,'
        '"load_duration":0,"prompt_eval_count":11,"eval_count":7}'
    )
    return "".join(line + eol for line in lines).encode("utf-8")


STREAM = {"openai": openai_stream, "anthropic": anthropic_stream, "ollama": ollama_stream}


def make(kind: str):
    model = None if kind == "openai" else "m"
    return adapter("llamacpp" if kind == "openai" else kind, BASE[kind], model=model)


def generate(kind: str, chunks: list[bytes]):
    """generate() over a body of exactly these chunks: (outcome, pieces passed to on_text).

    outcome is a comparable summary of the Result, or ("error", kind, message)."""
    pieces: list[str] = []
    with responses.RequestsMock() as rsps:
        rsps.add(
            "POST",
            BASE[kind] + PATH[kind],
            body=ChunkedBody(chunks),
            content_type=CONTENT_TYPE[kind],
        )
        try:
            r = make(kind).generate(Request("hi", stream=True), FAST, pieces.append)
        except ProviderError as e:
            return ("error", e.kind, e.message), pieces
    u = r.usage
    return (
        r.text,
        r.finish_reason,
        r.model,
        u.input_tokens,
        u.output_tokens,
        r.response_id,
    ), pieces


def check_text(outcome, pieces) -> None:
    """What the CLI will write: the streamed pieces add up to the text, and
    every piece can be written to stdout as it arrives."""
    if outcome[0] != "error":
        assert "".join(pieces) == outcome[0]
    for p in pieces:
        assert encodable(p), f"on_text got a piece that is not writable text: {p!r}"


# ---------------------------------------------------------------- the unsplit stream


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("kind", KINDS)
def test_realistic_stream_in_one_piece_parses(kind, eol):
    outcome, pieces = generate(kind, [STREAM[kind](PIECES, eol)])
    assert outcome[0] == TEXT
    assert outcome[1] == "stop"
    assert outcome[3:5] == USAGE
    check_text(outcome, pieces)


# ---------------------------------------------------------------- cut anywhere


@pytest.mark.parametrize("kind", KINDS)
def test_stream_cut_inside_every_utf8_sequence_and_escape_gives_the_same_result(kind):
    data = STREAM[kind](PIECES)
    whole = generate(kind, [data])[0]
    for offset, chunks in every_awkward_split(data):
        outcome, pieces = generate(kind, chunks)
        assert outcome == whole, f"cut at byte {offset}: {data[offset - 8 : offset + 8]!r}"
        check_text(outcome, pieces)


@pytest.mark.parametrize("kind", KINDS)
def test_stream_cut_at_every_offset_gives_the_same_result(kind):
    # A shorter stream (two pieces) so that every offset stays fast; CRLF so
    # cuts between \r and \n are covered too.
    data = STREAM[kind](['"Grüße 😀"', '"\\u65e5\\u672c"'], "\r\n")
    whole = generate(kind, [data])[0]
    assert whole[0] == "Grüße 😀日本"
    for offset, chunks in two_way_splits(data):
        assert generate(kind, chunks)[0] == whole, f"cut at byte {offset}"


@pytest.mark.parametrize("kind", KINDS)
@fuzz(25)
@given(data=st.data())
def test_stream_in_any_chunks_gives_the_same_result(kind, data):
    stream = STREAM[kind](PIECES, data.draw(st.sampled_from(["\n", "\r\n"])))
    chunks = data.draw(chunkings(stream, max_cuts=40))
    outcome, pieces = generate(kind, chunks)
    assert outcome[0] == TEXT
    assert outcome[3:5] == USAGE
    check_text(outcome, pieces)


@pytest.mark.parametrize("kind", KINDS)
def test_one_byte_chunks_give_the_same_result(kind):
    data = STREAM[kind](PIECES)
    assert generate(kind, split_at(data, range(len(data))))[0][0] == TEXT


@pytest.mark.parametrize("kind", KINDS)
def test_stream_cut_inside_utf8_over_a_real_socket(kind):
    data = STREAM[kind](PIECES)
    cuts = [i for i in range(1, len(data)) if 0x80 <= data[i] < 0xC0][::3]
    chunks = split_at(data, cuts)

    def script(conn, request, server):
        conn.sendall(response_head(content_type=CONTENT_TYPE[kind]))
        send_slowly(conn, chunks, gap=0.002)

    with LocalServer(script) as srv:
        model = None if kind == "openai" else "m"
        base = srv.url + ("/v1" if kind == "openai" else "")
        a = adapter("llamacpp" if kind == "openai" else kind, base, model=model)
        got: list[str] = []
        result = a.generate(Request("hi", stream=True), FAST, got.append)
    assert result.text == TEXT
    assert (result.usage.input_tokens, result.usage.output_tokens) == USAGE
    assert "".join(got) == TEXT


# ---------------------------------------------------------------- surrogates (issue 12 item 1)
# JSON lets a server escape an astral character as a surrogate pair, and a
# server that streams token by token may put the two halves in two events.
# Each event's JSON then decodes to a lone surrogate: the adapter must join
# the halves (and turn a half that never finds its partner into U+FFFD), or
# the text cannot be written to stdout, the usage log or the cache.


@pytest.mark.parametrize("kind", KINDS)
def test_escaped_surrogate_pair_split_across_two_events_is_joined(kind):
    data = STREAM[kind](['"a"', '"\\ud83d"', '"\\ude00"', '"b"'])
    outcome, pieces = generate(kind, [data])
    assert outcome[0] == "a😀b"
    check_text(outcome, pieces)


@pytest.mark.parametrize("kind", KINDS)
def test_escaped_surrogate_pair_split_across_events_and_chunks_is_joined(kind):
    data = STREAM[kind](['"a"', '"\\ud83d"', '"\\ude00"', '"b"'])
    for offset, chunks in every_awkward_split(data):
        outcome, pieces = generate(kind, chunks)
        assert outcome[0] == "a😀b", f"cut at byte {offset}"
        check_text(outcome, pieces)


@pytest.mark.parametrize(
    "lits, text",
    [
        (['"a"', '"\\ud83d"', '"b"'], "a\ufffdb"),  # a high half, then no low half
        (['"a"', '"\\ude00b"'], "a\ufffdb"),  # a low half with no high half
        (['"a"', '"\\ud83d"'], "a\ufffd"),  # the stream ends after a high half
        (['"\\ud83d"', '"\\ud83d\\ude00"'], "\ufffd😀"),  # a high half, then a whole pair
        (['"x\\udc80y"'], "x\ufffdy"),  # a lone half inside one event
    ],
    ids=["high-then-text", "lone-low", "high-at-end", "high-then-pair", "inside-one-event"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_lone_escaped_surrogate_becomes_replacement_character(kind, lits, text):
    outcome, pieces = generate(kind, [STREAM[kind](lits)])
    assert outcome[0] == text
    check_text(outcome, pieces)


NONSTREAM = {
    "openai": '{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,'
    '"message":{"role":"assistant","content":"x\\ud83dy"},"finish_reason":"stop"}],'
    '"usage":{"prompt_tokens":1,"completion_tokens":1}}',
    "anthropic": '{"id":"msg_1","type":"message","role":"assistant","model":"m","content":'
    '[{"type":"text","text":"x\\ud83dy"}],"stop_reason":"end_turn",'
    '"usage":{"input_tokens":1,"output_tokens":1}}',
    "ollama": '{"model":"m","message":{"role":"assistant","content":"x\\ud83dy"},"done":true,'
    '"done_reason":"stop","prompt_eval_count":1,"eval_count":1}',
}


@pytest.mark.parametrize("kind", KINDS)
def test_lone_escaped_surrogate_in_a_whole_answer_becomes_replacement_character(kind):
    with responses.RequestsMock() as rsps:
        rsps.add(
            "POST", BASE[kind] + PATH[kind], body=NONSTREAM[kind], content_type="application/json"
        )
        result = make(kind).generate(Request("hi"), FAST)
    assert result.text == "x\ufffdy"


# ---------------------------------------------------------------- any bytes at all


def _mutations(kind: str):
    """A valid stream with bytes inserted, deleted or replaced somewhere."""
    base = STREAM[kind](PIECES)

    @st.composite
    def mutate(draw):
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data)))
            how = draw(st.sampled_from(["insert", "delete", "replace"]))
            junk = draw(st.binary(min_size=1, max_size=8))
            if how == "insert":
                data[at:at] = junk
            elif how == "delete":
                del data[at : at + len(junk)]
            else:
                data[at : at + len(junk)] = junk
        return bytes(data)

    return mutate()


DEEP = b"[" * 10_000 + b"]" * 10_000


@pytest.mark.parametrize("kind", KINDS)
@fuzz(30)
@given(data=st.data())
def test_any_bytes_give_a_result_or_a_provider_error(kind, data):
    body = data.draw(st.binary(max_size=300) | _mutations(kind), label="body")
    chunks = data.draw(chunkings(body), label="chunks")
    outcome, pieces = generate(kind, chunks)  # anything but ProviderError propagates
    check_text(outcome, pieces)


@pytest.mark.parametrize("kind", KINDS)
def test_deeply_nested_json_in_a_stream_is_a_provider_error(kind):
    # Valid JSON that no decoder will nest that deep: a malformed chunk, not
    # a RecursionError traceback.
    data = {
        "openai": b"data: " + DEEP + b"\n\n",
        "anthropic": b"event: ping\ndata: " + DEEP + b"\n\n",
    }
    outcome, _ = generate(kind, [data.get(kind, DEEP + b"\n")])
    assert outcome[0] == "error"


@pytest.mark.parametrize("kind", KINDS)
@fuzz(20)
@given(extra=st.lists(st.sampled_from(["comment", "unknown-field", "blank", "retry"]), max_size=6))
def test_lines_the_protocol_says_to_ignore_change_nothing(kind, extra):
    if kind == "ollama":
        lines = {"blank": "\n", "comment": "  \n", "unknown-field": "\n", "retry": "\n"}
    else:
        lines = {
            "blank": "\n",
            "comment": ": keep-alive\n\n",
            "unknown-field": "id: 7\n\n",
            "retry": "retry: 100\n\n",
        }
    noise = "".join(lines[e] for e in extra).encode()
    assert generate(kind, [noise + STREAM[kind](PIECES)])[0][0] == TEXT


def test_generate_writes_a_surrogate_pair_split_across_events_as_one_character(rfctl, write_config):
    # The whole path: the answer goes to stdout as UTF-8, the attempt to the
    # usage log; a lone surrogate in the text fails both.
    data = openai_stream(['"a"', '"\\ud83d"', '"\\ude00"', '"b"'])

    def script(conn, request, server):
        conn.sendall(response_head())
        send_slowly(conn, split_at(data, [data.index(b"\\ude00") + 3]), gap=0.002)

    with LocalServer(script) as srv:
        write_config(f'[providers.local]\nkind = "llamacpp"\nbase_url = "{srv.url}/v1"\n')
        run = rfctl("generate", "-p", "local", "--stream", "hi")
    assert (run.code, run.out) == (0, "a😀b\n")
    assert "Traceback" not in run.err


@pytest.mark.parametrize("status", [200, 500], ids=["answer", "error-status"])
@pytest.mark.parametrize("kind", KINDS)
def test_deeply_nested_json_in_a_whole_body_is_a_provider_error(kind, status):
    with responses.RequestsMock() as rsps:
        rsps.add(
            "POST",
            BASE[kind] + PATH[kind],
            body=DEEP,
            status=status,
            content_type="application/json",
        )
        with pytest.raises(ProviderError):
            make(kind).generate(Request("hi"), FAST)
