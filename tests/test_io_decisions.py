"""The small decisions behind generate's input and output: sizes, whole
answers, and text that cannot be encoded."""

from __future__ import annotations

import argparse
import io

import pytest

from rfctl import complete, prompt_input, stdio
from rfctl.output import LiveWriter
from rfctl.providers.base import Result, Usage


@pytest.mark.parametrize(
    "text, size",
    [("1000", 1000), ("16M", 16 << 20), ("512k", 512 << 10), ("2G", 2 << 30), ("4MiB", 4 << 20)],
)
def test_sizes(text, size):
    assert prompt_input.parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "", "-1", "1.5M", "16T", "lots"])
def test_bad_sizes(text):
    with pytest.raises(argparse.ArgumentTypeError):
        prompt_input.parse_size(text)


def test_a_line_past_the_limit_is_skipped_unread():
    stream = io.BufferedReader(io.BytesIO(b"short\n" + b"x" * 5000 + b"\nafter\n" + b"y" * 11))
    lines = list(prompt_input.bounded_lines(stream, 10))
    assert lines[0] == "short\n" and lines[2] == "after\n"
    assert [getattr(x, "oversized", False) for x in lines] == [False, True, False, True]
    assert "--max-input (10 bytes)" in lines[1]


def _result(text: str, finish: str = "stop") -> Result:
    return Result(text=text, finish_reason=finish, model="m", usage=Usage(), latency_ms=1.0)


@pytest.mark.parametrize(
    "text, finish, why",
    [
        ("fine", "stop", None),
        ("", "stop", "empty"),
        (" \n", "stop", "empty"),
        ("half a", "length", "max_tokens"),
        ("", "length", "empty"),
    ],
)
def test_what_makes_an_answer_not_whole(text, finish, why):
    problem = complete.problem(_result(text, finish))
    assert (problem is None) if why is None else (why in problem)


def _utf8_stream() -> io.TextIOWrapper:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    stdio._reconfigure(stream, encoding="utf-8", errors=stdio.SURROGATES)
    return stream


def test_surrogates_are_joined_or_replaced_never_an_error():
    assert stdio.utf8("a\ud83d\ude00b") == "a😀b".encode()
    assert stdio.utf8("a\ud800b\udc00") == "a\ufffdb\ufffd".encode()
    stream = _utf8_stream()
    stream.write("日本 \ud800")
    stream.flush()
    assert stream.buffer.getvalue() == "日本 \ufffd".encode()


def test_live_output_joins_a_pair_split_between_pieces():
    stream = _utf8_stream()
    live = LiveWriter(stream)
    for piece in ["smile ", "\ud83d", "\ude00", " end \ud83d"]:
        live(piece)
    live.finish()
    assert stream.buffer.getvalue().decode() == "smile 😀 end \ufffd\n"
