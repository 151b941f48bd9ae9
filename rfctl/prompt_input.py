"""How much of stdin generate reads, and in what units --max-input is given.

A prompt is held in memory several times over on its way out (the bytes, the
text, the JSON body), so what is read is bounded: at most --max-input bytes
(DEFAULT_MAX_INPUT unless given), and one byte more tells that stdin was
larger, which is bad input (65) rather than a MemoryError minutes later. A
regular file on stdin is refused by its size before anything is read.
With --jsonl the bound is per line: a longer line is skipped unread and
fails alone (its error record), and the batch goes on.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys

from rfctl.errors import InputError

# Larger than any model's context window as text (2M tokens is about 8 MB),
# small enough to hold a few copies of under any sane memory limit.
DEFAULT_MAX_INPUT = 16 * 1024 * 1024
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_SIZE = re.compile(r"(\d+)\s*([kmg]?)(i?b)?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """'16M', '512k', '1G', '1000' (bytes); K, M and G are powers of 1024."""
    m = _SIZE.fullmatch(text.strip())
    if m is None or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: a positive number of bytes, or with K, M or G (16M)"
        )
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def human(n: int) -> str:
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n} bytes"


def limit_of(args) -> int:
    return getattr(args, "max_input", None) or DEFAULT_MAX_INPUT


def too_large(what: str, limit: int) -> InputError:
    return InputError(f"{what} is larger than --max-input ({human(limit)}); raise it to send more")


def read_stdin(limit: int) -> bytes:
    """At most `limit` bytes of stdin; InputError (65) when there are more."""
    buffer = sys.stdin.buffer
    try:
        st = os.fstat(buffer.fileno())
        if stat.S_ISREG(st.st_mode) and st.st_size - buffer.tell() > limit:
            raise too_large("stdin", limit)
    except (OSError, ValueError, AttributeError):  # not a real file (tests, embedding)
        pass
    try:
        data = buffer.read(limit + 1)
    except MemoryError:
        raise InputError("stdin does not fit in memory; give a smaller prompt") from None
    if len(data) > limit:
        raise too_large("stdin", limit)
    return data


def check_size(prompt: str, limit: int) -> None:
    """The whole prompt (stdin and arguments) within the limit."""
    if len(prompt) > limit or (not prompt.isascii() and len(prompt.encode("utf-8")) > limit):
        raise too_large("the prompt", limit)


class Oversized(str):
    """Stands for a --jsonl line longer than the limit: its text is the reason."""

    oversized = True


def bounded_lines(stream, limit: int):
    """stdin's lines as text (bad bytes kept as surrogateescape, for the line
    to report), none longer than `limit` bytes held in memory: a longer line
    is read past in 1 MiB pieces and yields an Oversized."""
    while True:
        data = stream.readline(limit + 1)
        if not data:
            return
        if len(data) > limit and not data.endswith(b"\n"):
            while True:
                more = stream.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
            yield Oversized(f"larger than --max-input ({human(limit)})")
            continue
        yield data.decode("utf-8", "surrogateescape")
