"""generate --jsonl: one request per input line, one result per output line.

Results come out in input order even with -j N requests in flight, so the
output can be pasted next to the input. Exit 1 when some lines failed, 0 when
none did; a malformed line is an error record for that line (code 65), never
the end of the batch. Lines are answered as they are read, and each result is
written as soon as it and every line before it are answered: a long batch
starts answering before its input ends, a program that feeds one line and
waits for its answer gets it, and at most 2 x N lines are held at once.
"""

from __future__ import annotations

import json
import math
import sys
import threading
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
    # JSON but not text).
    ident = _ident(item.get("id"), number)
    metadata = item.get("metadata")
    if not _writable(metadata):
        metadata = None
    try:
        for key, value in item.items():
            if not _writable({key: value}):
                raise InputError(f"{key!r} is not valid Unicode text (a lone surrogate)")
        req, provider = _request(item, defaults)
    except InputError as e:
        return bad(e.message, ident, metadata)
    return Line(ident, req, provider, metadata)


def _ident(raw, number: int) -> str:
    if raw is None:
        return str(number)
    if not _writable(raw):
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


# ---------------------------------------------------------------- the batch


class _InOrder:
    """Writes each line's record once it and every line before it are done.

    Records are written by whichever worker finishes the line that unblocks
    them (or by the reading thread), under one lock, so output is in input
    order without a thread of its own. At most `window` lines are in flight
    or waiting to be written; the reader blocks beyond that. A failure to
    write (a closed pipe) or a bug in a worker is kept and raised in the
    reading thread."""

    def __init__(self, write, window: int):
        self.write = write
        self.window = window
        self.cond = threading.Condition()
        self.done: dict[int, object] = {}
        self.sent = 0  # lines submitted
        self.written = 0  # lines written
        self.error: BaseException | None = None

    def submit(self, pool: ThreadPoolExecutor, fn, *args) -> None:
        with self.cond:
            while self.sent - self.written >= self.window and self.error is None:
                self.cond.wait()
            self._raise()
            seq = self.sent
            self.sent += 1
        pool.submit(fn, *args).add_done_callback(lambda f: self._finished(seq, f))

    def _finished(self, seq: int, fut) -> None:
        if fut.cancelled():
            return
        try:
            rec = fut.result()
        except BaseException as e:
            rec = e
        with self.cond:
            self.done[seq] = rec
            while self.written in self.done and self.error is None:
                rec = self.done.pop(self.written)
                if isinstance(rec, BaseException):
                    self.error = rec
                    break
                try:
                    self.write(rec)
                except BaseException as e:
                    self.error = e
                    break
                self.written += 1
            self.cond.notify_all()

    def finish(self) -> None:
        with self.cond:
            while self.written < self.sent and self.error is None:
                self.cond.wait()
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


def _lines(limit: int):
    """stdin, a line at a time as it arrives, as text; bad bytes are kept
    (surrogateescape) for parse_line to report on that line alone."""
    if sys.stdin is None:
        raise InputError("--jsonl reads requests from stdin, but stdin is closed")
    if sys.stdin.isatty():
        raise InputError("--jsonl reads requests from stdin, one JSON line each")
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes underneath (tests, embedding)
        return iter(sys.stdin)
    from rfctl.prompt_input import bounded_lines  # a line past --max-input: Oversized

    return bounded_lines(stream, limit)


def run_batch(args, cfg, paths) -> int:
    from rfctl import complete, routing, settings
    from rfctl.routing import Outcome, result_record

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    from rfctl.prompt_input import limit_of

    lines = _lines(limit_of(args))
    defaults = settings.request(args, cfg, "-")
    base_opts = settings.options(args)
    # Set on Ctrl-C: attempts still in flight end without cooldowns or state
    # writes (what they see next is the user's doing, not the provider's).
    base_opts.cancel = threading.Event()
    thoughts = None
    if base_opts.show_thinking:  # each line's reasoning, whole, once the line is answered
        from rfctl.reasoning import ReasoningWriter

        thoughts = ReasoningWriter()

    def answer(number: int, text: str) -> dict:
        line = parse_line(text, number, defaults)
        if line.error is not None:
            return result_record(
                Outcome(routing.new_request_id(), error=line.error), line.id, line.metadata
            )
        opts = _copy(base_opts)
        if line.provider:
            opts.providers = [line.provider]
        if line.request.model:
            opts.model = line.request.model
        try:
            outcome = routing.run(cfg, paths, line.request, opts)
        except RfctlError as e:  # e.g. a line naming an unknown provider: that line fails
            outcome = Outcome(routing.new_request_id(), error=e)
        complete.check(outcome, args.require_complete, warn=False)  # the record says why
        if line.request.schema is not None:
            from rfctl import schema

            schema.verdict(outcome)  # 65 when answers came but none validated
        if thoughts is not None and outcome.ok:
            thoughts.block(outcome.result.reasoning)
        return result_record(outcome, line.id, line.metadata)

    failed = 0
    kept: list[str] = []

    def write(rec: dict) -> None:
        nonlocal failed
        failed += not rec["ok"]
        out = json.dumps(rec, ensure_ascii=False) + "\n"
        try:
            out.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate in a server's text: escape it
            out = json.dumps(rec) + "\n"
        if args.output:
            kept.append(out)
        else:
            sys.stdout.write(out)
            sys.stdout.flush()

    pool = ThreadPoolExecutor(max_workers=args.jobs)
    order = _InOrder(write, 2 * args.jobs)
    try:
        for number, text in enumerate(lines, 1):
            if text.strip():
                order.submit(pool, answer, number, text)
        order.finish()
    except BaseException:
        # Ctrl-C (or a failure): drop what has not started and let attempts in
        # flight end quietly; cli.main exits at once rather than wait for them.
        base_opts.cancel.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    if args.output:
        from rfctl.output import write_file

        write_file(args.output, "".join(kept))
    return Exit.PARTIAL if failed else 0


def _copy(opts):
    from dataclasses import replace

    return replace(opts, providers=list(opts.providers))
