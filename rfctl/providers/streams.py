"""Stream framing from raw bytes: lines, SSE events, NDJSON records.

PROTOCOLS.md 1.1: servers send text/event-stream without a charset, so bytes
are split on b"\\n" (never inside a UTF-8 sequence) and each whole line decoded
as UTF-8. Comments (": ping") are dropped, unknown fields ignored, and a final
line without its newline is still delivered at EOF.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


def iter_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    buf = b""
    for chunk in chunks:
        buf += chunk
        if b"\n" not in chunk:
            continue
        *lines, buf = buf.split(b"\n")
        for line in lines:
            yield _decode(line)
    if buf:
        yield _decode(buf)


def _decode(line: bytes) -> str:
    if line.endswith(b"\r"):
        line = line[:-1]
    return line.decode("utf-8", "replace")


@dataclass
class Event:
    event: str  # "message" when the server named none
    data: str


def iter_sse(lines: Iterable[str]) -> Iterator[Event]:
    """Group lines into events. The non-standard `error:` field of old
    llama.cpp builds becomes an event named "error" so it is not lost."""
    name = ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield Event(name or "message", "\n".join(data))
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        elif field == "error":
            if data:
                yield Event(name or "message", "\n".join(data))
            yield Event("error", value)
            name, data = "", []
    if data:
        yield Event(name or "message", "\n".join(data))


def iter_ndjson(lines: Iterable[str]) -> Iterator[dict | None]:
    """One JSON object per line; None for a line that is not valid JSON."""
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            yield None
            continue
        yield obj if isinstance(obj, dict) else None
