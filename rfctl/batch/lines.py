"""One --jsonl input line into a request: a JSON string (the prompt) or an
object whose fields override the flags. A malformed line is a Line with an
error for that line alone (code 65), never the end of the batch; the input is
read a line at a time as it arrives."""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass

from rfctl.errors import InputError

_FIELDS = {
    "prompt",
    "id",
    "system",
    "model",
    "provider",
    "temperature",
    "max_tokens",
    "stop",
    "metadata",
    "attachments",  # [paths]: images or PDFs, read when the line is
    "schema",  # a schema object, a file name or inline JSON
    "thinking",
    "reasoning_effort",
}
# Far beyond any model's output; keeps max_tokens an ordinary int (1e400 is
# inf, 10**400 overflows float arithmetic in cost estimates).
MAX_TOKENS = 2**31 - 1


@dataclass
class Line:
    id: str
    request: object | None  # rfctl.providers.base.Request
    provider: str | None = None
    metadata: object = None
    error: InputError | None = None


def parse_line(line: str, number: int, defaults) -> Line:
    """One input line: a JSON string (the prompt) or an object with the
    fields in _FIELDS (prompt required; the rest override the flags).

    Never raises for what the line says: a bad line is a Line with `error`."""

    def bad(why: str, ident: str = str(number), metadata=None) -> Line:
        return Line(ident, None, metadata=metadata, error=InputError(f"line {number}: {why}"))

    if getattr(line, "oversized", False):  # rfctl.prompt_input.Oversized
        return bad(str(line))
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return bad("not UTF-8 text")
    try:
        item = json.loads(line)
    except ValueError as e:
        return bad(f"not JSON ({e})")
    except RecursionError:
        return bad("not JSON (nested too deeply)")
    if isinstance(item, str):
        item = {"prompt": item}
    if not isinstance(item, dict):
        return bad("expected a string or an object")
    # The id and metadata go back out in the result, even an error's: only
    # when they can be written (a lone surrogate such as "\ud800" is valid
    # JSON but not text). The text itself encoded, so only a \uD8xx-\uDFxx
    # escape can make one: without such an escape there is nothing to check.
    suspect = _SURROGATE_ESCAPE.search(line) is not None
    ident = _ident(item.get("id"), number, suspect)
    metadata = item.get("metadata")
    if suspect and not _writable(metadata):
        metadata = None
    try:
        if suspect:
            for key, value in item.items():
                if not _writable({key: value}):
                    raise InputError(f"{key!r} is not valid Unicode text (a lone surrogate)")
        req, provider = _request(item, defaults)
    except InputError as e:
        return bad(e.message, ident, metadata)
    return Line(ident, req, provider, metadata)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _ident(raw, number: int, suspect: bool = True) -> str:
    if raw is None:
        return str(number)
    if suspect and not _writable(raw):
        return str(number)
    return raw if isinstance(raw, str) else json.dumps(raw)


def _writable(value) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return False
    return True


def _request(item: dict, defaults):
    from rfctl.providers.base import Request

    unknown = set(item) - _FIELDS
    if unknown:
        raise InputError(f"unknown field {sorted(unknown)[0]!r}")
    prompt = _text(item.get("prompt"), "prompt")
    if prompt is None or not prompt.strip():
        raise InputError("prompt must be a non-empty string")
    stop = item.get("stop", list(defaults.stop))
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise InputError("stop must be a string or a list of strings")
    req = Request(
        prompt=prompt,
        model=_name(item, "model", defaults.model),
        system=_text(item.get("system", defaults.system), "system"),
        temperature=_temperature(item.get("temperature", defaults.temperature)),
        max_tokens=_max_tokens(item.get("max_tokens", defaults.max_tokens)),
        stop=[_text(s, "stop") for s in stop],
        attachments=_attachments(item, defaults.attachments),
        schema=_schema(item, defaults.schema),
        thinking=_thinking(item.get("thinking", defaults.thinking)),
        reasoning_effort=_effort(item.get("reasoning_effort", defaults.reasoning_effort)),
    )
    return req, _name(item, "provider", None)


def _attachments(item: dict, default: list) -> list:
    if "attachments" not in item:
        return default
    paths = item["attachments"]
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise InputError("attachments must be a list of file names")
    if "-" in paths:
        raise InputError("attachments cannot read stdin (-): it carries the requests")
    from rfctl import attachments

    return [attachments.load(p) for p in paths]


def _schema(item: dict, default: dict | None) -> dict | None:
    if "schema" not in item:
        return default
    if item["schema"] is None:
        return None
    from rfctl import schema

    return schema.load(item["schema"], "schema")


def _thinking(value) -> int | None:
    if value is None:
        return None
    if not _is_number(value) or not isinstance(value, int) or not 1 <= value <= MAX_TOKENS:
        raise InputError(f"thinking must be a whole number of tokens from 1 to {MAX_TOKENS}")
    return value


def _effort(value) -> str | None:
    from rfctl.providers.thinking import EFFORTS

    if value is None or value in EFFORTS:
        return value
    raise InputError(f"reasoning_effort must be one of {', '.join(EFFORTS)}")


def _text(value, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string")
    try:
        value.encode("utf-8")  # a lone surrogate ("\ud800") is valid JSON, not text
    except UnicodeEncodeError:
        raise InputError(f"{name} is not valid Unicode text") from None
    return value


def _name(item: dict, field: str, default: str | None) -> str | None:
    """A provider or model name: absent means the default, present must name one."""
    if field not in item:
        return default
    value = _text(item[field], field)
    if value is None or not value.strip():
        raise InputError(f"{field} must be a non-empty string")
    return value


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _max_tokens(value) -> int | None:
    if value is None:
        return None
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    # Compared as int/float, never converted first: 10**400 and 1e400 are both
    # valid JSON and neither fits a float conversion or an int.
    if not _is_number(value) or not whole or not 1 <= value <= MAX_TOKENS:
        raise InputError(f"max_tokens must be a whole number from 1 to {MAX_TOKENS}")
    return int(value)


def _temperature(value) -> float | None:
    if value is None:
        return None
    if not _is_number(value):
        raise InputError("temperature must be a number")
    try:
        t = float(value)
    except OverflowError:  # an integer with hundreds of digits
        t = math.inf
    if not math.isfinite(t) or t < 0:
        raise InputError("temperature must be a finite number of at least 0")
    return t


def read_lines(limit: int):
    """stdin, a line at a time as it arrives, as text; bad bytes are kept
    (surrogateescape) for parse_line to report on that line alone, and a
    line longer than `limit` (--max-input) is not held: it arrives as an
    Oversized, which parse_line turns into that line's error."""
    if sys.stdin is None:
        raise InputError("--jsonl reads requests from stdin, but stdin is closed")
    if sys.stdin.isatty():
        raise InputError("--jsonl reads requests from stdin, one JSON line each")
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes underneath (tests, embedding)
        return iter(sys.stdin)
    from rfctl.prompt_input import bounded_lines

    return bounded_lines(stream, limit)
