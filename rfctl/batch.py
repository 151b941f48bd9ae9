"""generate --jsonl: one request per input line, one result per output line.

Results come out in input order even with -j N requests in flight, so the
output can be pasted next to the input. Exit 1 when some lines failed, 0 when
none did; a malformed line is an error record for that line, not the end of
the batch.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from rfctl.errors import Exit, InputError, UsageError

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


def parse_line(line: str, number: int, defaults) -> tuple[str, object, dict]:
    """(id, Request-or-InputError, metadata) for one input line."""
    from rfctl.providers.base import Request

    try:
        item = json.loads(line)
    except ValueError as e:
        return str(number), InputError(f"line {number}: not JSON ({e.msg})"), None
    if isinstance(item, str):
        item = {"prompt": item}
    if not isinstance(item, dict):
        return str(number), InputError(f"line {number}: expected a string or an object"), None
    ident = str(item.get("id", number))
    unknown = set(item) - _FIELDS
    if unknown:
        return ident, InputError(f"line {number}: unknown field {sorted(unknown)[0]!r}"), None
    prompt = item.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return ident, InputError(f"line {number}: prompt must be a non-empty string"), None
    stop = item.get("stop", list(defaults.stop))
    if isinstance(stop, str):
        stop = [stop]
    try:
        req = Request(
            prompt=prompt,
            model=item.get("model", defaults.model),
            system=item.get("system", defaults.system),
            temperature=_num(item.get("temperature", defaults.temperature), "temperature", float),
            max_tokens=_num(item.get("max_tokens", defaults.max_tokens), "max_tokens", int),
            stop=[str(s) for s in stop],
        )
    except InputError as e:
        return ident, InputError(f"line {number}: {e.message}"), None
    req.provider = item.get("provider")  # type: ignore[attr-defined]
    return ident, req, item.get("metadata")


def _num(value, name, kind):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name} must be a number")
    return kind(value)


def run_batch(args, cfg, paths) -> int:
    from rfctl import router
    from rfctl.commands.generate import _request, options, result_record
    from rfctl.router import Outcome

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if sys.stdin.isatty():
        raise InputError("--jsonl reads requests from stdin, one JSON line each")
    base = _request(args, cfg, "-")
    lines = [ln for ln in sys.stdin.read().splitlines()]

    def one(number: int, line: str) -> dict:
        ident, req, meta = parse_line(line, number, base)
        if isinstance(req, InputError):
            outcome = Outcome(router.new_request_id(), error=req)
            return result_record(outcome, ident, meta)
        opts = options(args, cfg)
        if getattr(req, "provider", None):
            opts.providers = [req.provider]
        if req.model:
            opts.model = req.model
        try:
            outcome = router.run(cfg, paths, req, opts)
        except Exception as e:  # a config error for one line must not end the batch
            from rfctl.errors import RfctlError

            if not isinstance(e, RfctlError):
                raise
            outcome = Outcome(router.new_request_id(), error=e)
        return result_record(outcome, ident, meta)

    todo = [(i, ln) for i, ln in enumerate(lines, 1) if ln.strip()]
    failed = 0
    kept: list[str] = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        # map() yields in input order while up to --jobs run at once.
        for rec in pool.map(lambda t: one(*t), todo):
            failed += not rec["ok"]
            line = json.dumps(rec, ensure_ascii=False) + "\n"
            if args.output:
                kept.append(line)
            else:
                sys.stdout.write(line)
                sys.stdout.flush()
    if args.output:
        from rfctl.output import write_file_atomic

        write_file_atomic(args.output, "".join(kept))
    return Exit.PARTIAL if failed else 0
