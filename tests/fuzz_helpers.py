"""Shared pieces of the property-based tests (tests/test_fuzz_*.py).

Every fuzz test runs a bounded number of examples with no example database
(nothing is written under the repository) and no per-example deadline (the
machine running CI may be slow and loaded): `@fuzz(n)`.

Byte streams are cut three ways: at every single offset (`two_way_splits`),
at hypothesis-chosen offsets (`chunkings`), and at offsets chosen to land
inside multi-byte UTF-8 sequences and JSON `\\uXXXX` escapes (`awkward_cuts`).
`ChunkedBody` is a `responses` body that hands the client exactly those
chunks, one per read, so an adapter sees the same boundaries a server's TCP
segments would give it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def fuzz(max_examples: int):
    """Settings for one fuzz test: `max_examples` examples, nothing stored."""
    return settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        # The autouse isolated-home fixture is set up once per test, not per
        # example; no property here depends on it being fresh.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


# ---------------------------------------------------------------- cutting bytes


def split_at(data: bytes, offsets) -> list[bytes]:
    """data cut at each offset (duplicates and out-of-range offsets ignored)."""
    points = sorted({o for o in offsets if 0 < o < len(data)})
    out, last = [], 0
    for p in points:
        out.append(data[last:p])
        last = p
    out.append(data[last:])
    return out


def two_way_splits(data: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """(offset, [head, tail]) for every offset inside data."""
    for i in range(1, len(data)):
        yield i, [data[:i], data[i:]]


@st.composite
def chunkings(draw, data: bytes, max_cuts: int = 16) -> list[bytes]:
    """data cut at up to max_cuts hypothesis-chosen offsets (one-byte chunks included)."""
    if len(data) < 2:
        return [data]
    offsets = draw(st.lists(st.integers(1, len(data) - 1), max_size=max_cuts))
    return split_at(data, offsets)


_ESCAPE = re.compile(rb"\\u[0-9a-fA-F]{4}")


def awkward_cuts(data: bytes) -> list[int]:
    """Offsets that fall inside a multi-byte UTF-8 sequence or a \\uXXXX escape."""
    out = [i for i, b in enumerate(data) if 0x80 <= b < 0xC0]  # continuation bytes
    for m in _ESCAPE.finditer(data):
        out.extend(range(m.start() + 1, m.end()))
    return sorted(set(out))


def every_awkward_split(data: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """(offset, [head, tail]) for every offset awkward_cuts finds."""
    for i in awkward_cuts(data):
        yield i, [data[:i], data[i:]]


class _Chunks(io.RawIOBase):
    def __init__(self, chunks: list[bytes]):
        self.chunks = [c for c in chunks if c]

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if not self.chunks:
            return 0
        chunk = self.chunks[0]
        n = min(len(chunk), len(buf))
        buf[:n] = chunk[:n]
        if n == len(chunk):
            self.chunks.pop(0)
        else:  # a chunk larger than the reader asked for: the rest next time
            self.chunks[0] = chunk[n:]
        return n


def ChunkedBody(chunks: list[bytes]) -> io.BufferedReader:  # noqa: N802 - reads as a type
    """A `responses` body that yields `chunks`, one per read, boundaries kept."""
    return io.BufferedReader(_Chunks(chunks), buffer_size=64)


# ---------------------------------------------------------------- values


def json_values(max_leaves: int = 12):
    """Any JSON value (lone surrogates included in strings), small."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | any_text(max_size=12)
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text(8), inner, max_size=4),
        max_leaves=max_leaves,
    )


def any_text(max_size: int = 40):
    """Text that may hold anything a Python str can: controls, surrogates, astral."""
    return st.text(st.characters(exclude_categories=()), max_size=max_size)


def utf8_text(max_size: int = 40):
    """Text UTF-8 can carry: anything but lone surrogates. (An explicit
    alphabet: hypothesis's codec-based default costs seconds to set up
    without its cache.)"""
    return st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size)


def encodable(text: str) -> bool:
    """True when text can be written as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def jdump(obj) -> str:
    """Compact JSON with non-ASCII text kept as raw UTF-8 (multi-byte on the wire)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
