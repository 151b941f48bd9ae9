"""The stream framers (rfctl/providers/streams.py) over arbitrary bytes and
arbitrary chunk boundaries.

iter_lines splits raw bytes into text lines, never inside a UTF-8 sequence;
iter_sse groups lines into events; iter_ndjson decodes one JSON object per
line. Whatever the chunking, the result is the one the unsplit bytes give;
whatever the bytes, nothing escapes but ProviderError (the documented error,
e.g. for a line over the size cap).
"""

from __future__ import annotations

import json

import pytest
from fuzz_helpers import any_text, chunkings, encodable, fuzz, json_values, two_way_splits
from hypothesis import given
from hypothesis import strategies as st

from rfctl.providers.base import ProviderError
from rfctl.providers.streams import iter_lines, iter_ndjson, iter_sse


def lines_of(chunks) -> list[str] | ProviderError:
    try:
        return list(iter_lines(chunks))
    except ProviderError as e:  # the only error iter_lines may raise
        return e


def events_of(chunks) -> list[tuple[str, str]]:
    return [(e.event, e.data) for e in iter_sse(iter_lines(chunks))]


# ---------------------------------------------------------------- iter_lines


@fuzz(100)
@given(st.lists(st.binary(max_size=40), max_size=12))
def test_lines_do_not_depend_on_chunk_boundaries(chunks):
    whole = lines_of([b"".join(chunks)])
    got = lines_of(chunks)
    if isinstance(whole, ProviderError):
        assert isinstance(got, ProviderError)
    else:
        assert got == whole


@fuzz(100)
@given(st.binary(max_size=200))
def test_any_bytes_become_writable_lines_without_newlines(data):
    lines = lines_of([data])
    if isinstance(lines, ProviderError):
        return
    for line in lines:
        assert isinstance(line, str)
        assert "\n" not in line
        assert encodable(line)  # invalid UTF-8 becomes U+FFFD, never a lone surrogate


@fuzz(80)
@given(
    text=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r"), max_size=80),
    data=st.data(),
)
def test_utf8_text_comes_back_line_by_line_however_it_is_cut(text, data):
    raw = text.encode("utf-8")
    chunks = data.draw(chunkings(raw))
    expected = text.split("\n")
    if expected[-1] == "":  # a final newline ends the last line; it starts no new one
        expected.pop()
    assert lines_of(chunks) == expected


def test_crlf_split_between_cr_and_lf_is_one_line_end():
    for _, chunks in two_way_splits(b"data: a\r\n\r\ndata: b\r\n\r\n"):
        assert lines_of(chunks) == ["data: a", "", "data: b", ""]


# ---------------------------------------------------------------- iter_sse

# An SSE stream with everything the framer must handle: comments, event
# names, multi-line data, an empty data line, CRLF, multi-byte UTF-8, an
# old llama.cpp `error:` line, and a last event without its blank line.
SSE = (
    ": ping\r\n\r\n"
    'event: message_start\r\ndata: {"a": "Grüße"}\r\n\r\n'
    "data: line one\ndata: 日本 😀\n\n"
    "id: 7\nretry: 100\ndata:\n\n"
    "data:no space\n: comment inside\ndata:  two spaces\n\n"
    'error: {"code":500,"message":"boom"}\n\n'
    "event: last\ndata: é"
).encode()
SSE_EVENTS = [
    ("message_start", '{"a": "Grüße"}'),
    ("message", "line one\n日本 😀"),
    ("message", ""),
    ("message", "no space\n two spaces"),
    ("error", '{"code":500,"message":"boom"}'),
    ("last", "é"),
]


def test_sse_stream_in_one_piece():
    assert events_of([SSE]) == SSE_EVENTS


def test_sse_stream_cut_at_every_offset_gives_the_same_events():
    for offset, chunks in two_way_splits(SSE):
        assert events_of(chunks) == SSE_EVENTS, f"cut at byte {offset}"


@fuzz(80)
@given(st.data())
def test_sse_stream_in_any_chunks_gives_the_same_events(data):
    assert events_of(data.draw(chunkings(SSE, max_cuts=60))) == SSE_EVENTS


def _field_text(max_size=20):
    # What a field value can carry: any text but line ends (CR ends a line too).
    return st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=max_size
    )


@st.composite
def sse_streams(draw):
    """(bytes, events): events serialised as a server would, comments between."""
    events = draw(
        st.lists(
            st.tuples(
                st.one_of(st.just(""), _field_text(12).filter(lambda s: s.strip())),
                st.lists(_field_text(), min_size=1, max_size=3),
            ),
            max_size=5,
        )
    )
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    out = []
    for name, data_lines in events:
        if draw(st.booleans()):
            out.append(": " + draw(_field_text(8)) + eol)
        if name:
            out.append(f"event: {name}{eol}")
        out += [f"data: {d}{eol}" for d in data_lines]
        out.append(eol)
    expected = [(name or "message", "\n".join(d)) for name, d in events]
    return "".join(out).encode("utf-8"), expected


@fuzz(80)
@given(stream=sse_streams(), data=st.data())
def test_sse_events_round_trip_through_any_chunking(stream, data):
    raw, expected = stream
    assert events_of(data.draw(chunkings(raw))) == expected


@fuzz(100)
@given(st.lists(any_text(30), max_size=20))
def test_any_lines_give_events_of_text_and_nothing_else(lines):
    for ev in iter_sse(lines):
        assert isinstance(ev.event, str) and ev.event
        assert isinstance(ev.data, str)


# ---------------------------------------------------------------- iter_ndjson

DEEP = "[" * 10_000 + "]" * 10_000


@fuzz(100)
@given(st.lists(any_text(30) | json_values().map(json.dumps), max_size=12))
def test_any_lines_give_objects_or_none(lines):
    for rec in iter_ndjson(lines):
        assert rec is None or isinstance(rec, dict)


@pytest.mark.parametrize("line", [DEEP, '{"a": ' + DEEP + "}"], ids=["array", "in-object"])
def test_json_nested_too_deep_to_decode_is_not_an_object(line):
    # Valid JSON, but past any decoder's nesting limit: a bad record (None),
    # like any other line that cannot be read, not a RecursionError.
    assert list(iter_ndjson([line, '{"ok": 1}'])) == [None, {"ok": 1}]


@fuzz(60)
@given(
    objs=st.lists(st.dictionaries(any_text(8), json_values(), max_size=4), max_size=6),
    eol=st.sampled_from(["\n", "\r\n"]),
    data=st.data(),
)
def test_ndjson_objects_round_trip_through_any_chunking(objs, eol, data):
    # ensure_ascii=False: non-ASCII text travels as raw multi-byte UTF-8
    # (lone surrogates, which UTF-8 cannot carry, stay escaped).
    lines = []
    for o in objs:
        text = json.dumps(o, ensure_ascii=False)
        lines.append(text if encodable(text) else json.dumps(o))
    raw = "".join(line + eol for line in lines).encode("utf-8")
    assert list(iter_ndjson(iter_lines(data.draw(chunkings(raw))))) == objs
