"""Stream framing from raw bytes: lines, SSE events, NDJSON records.

Servers send text/event-stream without a charset, so bytes are split on
b"\\n" (never inside a UTF-8 sequence) and each whole line decoded as UTF-8.
Comments (": ping") are dropped, unknown fields ignored, and a final line
without its newline is still delivered at EOF.

Framing is linear in the bytes received: a line's pieces are kept in a list
and joined once, when its newline arrives. One line, one SSE event and one
whole body may hold at most MAX_EVENT_BYTES; past that the attempt fails with
a clear ProviderError instead of growing until memory runs out. Real events
are far smaller: the largest are a whole answer in one chunk or a listing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rfctl.providers.wire import too_large

# One line, one SSE event, one whole body. Far above any real one (a long
# answer sent as one chunk is a few hundred KiB), low enough that holding it
# (bytes, text and parsed JSON at once) never exhausts memory.
MAX_EVENT_BYTES = 32 * 1024 * 1024


def read_all(chunks: Iterable[bytes], limit: int | None = None) -> bytes:
    """A whole body (JSON answers, listings); more than `limit` bytes raises."""
    limit = MAX_EVENT_BYTES if limit is None else limit
    raw: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large("the response body", limit)
        raw.append(chunk)
    return b"".join(raw)


def read_head(chunks: Iterable[bytes], limit: int) -> bytes:
    """The first `limit` bytes of a body (an error page); the rest is not read."""
    raw: list[bytes] = []
    size = 0
    for chunk in chunks:
        raw.append(chunk[: limit - size])
        size += len(raw[-1])
        if size >= limit:
            break
    return b"".join(raw)


def iter_lines(chunks: Iterable[bytes], limit: int | None = None) -> Iterator[str]:
    """Whole lines from chunks cut anywhere; a line longer than `limit` bytes raises."""
    limit = MAX_EVENT_BYTES if limit is None else limit
    pending: list[bytes] = []  # the start of the current line, not yet joined
    size = 0
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if size + end - start > limit:
                raise too_large("a line of the stream", limit)
            piece = chunk[start:end]
            if pending:
                pending.append(piece)
                piece = b"".join(pending)
                pending, size = [], 0
            yield _decode(piece)
            start = end + 1
        if start < len(chunk):
            size += len(chunk) - start
            if size > limit:
                raise too_large("a line of the stream", limit)
            pending.append(chunk[start:] if start else chunk)
    if pending:
        yield _decode(b"".join(pending))


def _decode(line: bytes) -> str:
    if line.endswith(b"\r"):
        line = line[:-1]
    return line.decode("utf-8", "replace")


@dataclass
class Event:
    event: str  # "message" when the server named none
    data: str


def iter_sse(lines: Iterable[str], limit: int | None = None) -> Iterator[Event]:
    """Group lines into events. The non-standard `error:` field of old
    llama.cpp builds becomes an event named "error" so it is not lost.
    An event whose data lines add up to more than `limit` characters raises."""
    limit = MAX_EVENT_BYTES if limit is None else limit
    name = ""
    data: list[str] = []
    size = 0
    for line in lines:
        if not line:
            if data:
                yield Event(name or "message", "\n".join(data))
            name, data, size = "", [], 0
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            size += len(value) + 1
            if size > limit:
                raise too_large("an event of the stream", limit)
            data.append(value)
        elif field == "event":
            name = value
        elif field == "error":
            if data:
                yield Event(name or "message", "\n".join(data))
            yield Event("error", value)
            name, data, size = "", [], 0
    if data:
        yield Event(name or "message", "\n".join(data))


def iter_ndjson(lines: Iterable[str]) -> Iterator[dict | None]:
    """One JSON object per line; None for a line that is not valid JSON."""
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to decode
            yield None
            continue
        yield obj if isinstance(obj, dict) else None
