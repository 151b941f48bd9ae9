"""generate --jsonl: one request per input line, one result per output line.

Results come out in input order even with -j N requests in flight, so the
output can be pasted next to the input. Exit 1 when some lines failed, 0 when
none did; a malformed line is an error record for that line (code 65), never
the end of the batch. Lines are read as they come: a long batch starts
answering before its input ends, and at most 2 x N lines are held at once.
"""

from __future__ import annotations

import json
import math
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rfctl.errors import Exit, InputError, RfctlError, UsageError

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
}


@dataclass
class Line:
    id: str
    request: object | None  # rfctl.providers.base.Request
    provider: str | None = None
    metadata: object = None
    error: InputError | None = None


def parse_line(line: str, number: int, defaults) -> Line:
    """One input line: a JSON string (the prompt) or an object (DESIGN.md)."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return Line(str(number), None, error=InputError(f"line {number}: not UTF-8 text"))
    try:
        item = json.loads(line)
    except ValueError as e:
        return Line(str(number), None, error=InputError(f"line {number}: not JSON ({e})"))
    if isinstance(item, str):
        item = {"prompt": item}
    if not isinstance(item, dict):
        return Line(
            str(number), None, error=InputError(f"line {number}: expected a string or an object")
        )
    raw_id = item.get("id", number)
    ident = raw_id if isinstance(raw_id, str) else json.dumps(raw_id)
    try:
        req, provider = _request(item, defaults)
    except InputError as e:
        return Line(
            ident,
            None,
            metadata=item.get("metadata"),
            error=InputError(f"line {number}: {e.message}"),
        )
    return Line(ident, req, provider, item.get("metadata"))


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
    if not isinstance(stop, list):
        raise InputError("stop must be a string or a list of strings")
    max_tokens = _number(item.get("max_tokens", defaults.max_tokens), "max_tokens", int, 1)
    return (
        Request(
            prompt=prompt,
            model=_text(item.get("model", defaults.model), "model"),
            system=_text(item.get("system", defaults.system), "system"),
            temperature=_number(
                item.get("temperature", defaults.temperature), "temperature", float, 0
            ),
            max_tokens=max_tokens,
            stop=[_text(s, "stop") for s in stop],
        ),
        _text(item.get("provider"), "provider"),
    )


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


def _number(value, name: str, kind, least):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name} must be a number")
    if not math.isfinite(value) or value < least or (kind is int and value != int(value)):
        raise InputError(
            f"{name} must be {'a whole number' if kind is int else 'a number'} of at least {least}"
        )
    return kind(value)


def run_batch(args, cfg, paths) -> int:
    from rfctl import router
    from rfctl.commands.generate import _request as base_request
    from rfctl.commands.generate import options, result_record
    from rfctl.router import Outcome

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError("--jsonl reads requests from stdin, one JSON line each")
    defaults = base_request(args, cfg, "-")
    base_opts = options(args, cfg)

    def answer(number: int, text: str) -> dict:
        line = parse_line(text, number, defaults)
        if line.error is not None:
            return result_record(
                Outcome(router.new_request_id(), error=line.error), line.id, line.metadata
            )
        opts = _copy(base_opts)
        if line.provider:
            opts.providers = [line.provider]
        if line.request.model:
            opts.model = line.request.model
        try:
            outcome = router.run(cfg, paths, line.request, opts)
        except RfctlError as e:  # e.g. a line naming an unknown provider: that line fails
            outcome = Outcome(router.new_request_id(), error=e)
        return result_record(outcome, line.id, line.metadata)

    failed = 0
    kept: list[str] = []

    def emit(rec: dict) -> None:
        nonlocal failed
        failed += not rec["ok"]
        out = json.dumps(rec, ensure_ascii=False) + "\n"
        if args.output:
            kept.append(out)
        else:
            sys.stdout.write(out)
            sys.stdout.flush()

    pool = ThreadPoolExecutor(max_workers=args.jobs)
    pending: deque = deque()
    try:
        number = 0
        for data in sys.stdin.buffer:
            number += 1
            if not data.strip():
                continue
            raw = data.decode("utf-8", "surrogateescape")  # parse_line reports bad bytes
            pending.append(pool.submit(answer, number, raw))
            # In input order; never more than 2 x jobs lines in memory.
            while pending and (pending[0].done() or len(pending) >= 2 * args.jobs):
                emit(pending.popleft().result())
        while pending:
            emit(pending.popleft().result())
    except BaseException:
        # Ctrl-C or a failure: drop what has not started; cli.main exits at
        # once rather than waiting for attempts still in flight.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    if args.output:
        from rfctl.commands.generate import _write_output

        _write_output(args.output, "".join(kept))
    return Exit.PARTIAL if failed else 0


def _copy(opts):
    from dataclasses import replace

    return replace(opts, providers=list(opts.providers))
