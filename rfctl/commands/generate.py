"""rfctl generate: a prompt in, an answer out."""

from __future__ import annotations

import argparse
import sys

from rfctl.config import CAPABILITIES, STRATEGIES

HELP = "send a prompt (arguments and/or stdin) and print the answer"

DESCRIPTION = """\
Send a prompt to the first provider that can answer it and print the answer.
The prompt is stdin followed by the PROMPT arguments (`cat file | rfctl
generate "summarise this"`). When stdout is a terminal the answer streams as
it arrives; into a pipe or file (-o) it is written once complete, so a
fallback never leaves half an answer behind."""


def add_parser(sub, parents):
    p = sub.add_parser(
        "generate",
        parents=parents,
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("prompt", nargs="*", metavar="PROMPT", help="prompt text (after stdin)")
    p.add_argument("-m", "--model", help="model name or alias (picks providers that serve it)")
    p.add_argument(
        "-p",
        "--provider",
        action="append",
        default=[],
        metavar="NAME",
        help="use this provider; repeat for an explicit fallback chain",
    )
    p.add_argument("-s", "--system", metavar="TEXT", help="system prompt")
    p.add_argument("-t", "--temperature", type=float, metavar="T", help="sampling temperature")
    p.add_argument("--max-tokens", type=int, metavar="N", help="most output tokens")
    p.add_argument(
        "--stop", action="append", default=[], metavar="SEQ", help="stop sequence (repeatable)"
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="how to order candidate providers (default: from config)",
    )
    p.add_argument(
        "--capability",
        choices=CAPABILITIES,
        help="only models with this capability",
    )
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="bound on one attempt")
    p.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="bound on the whole call, retries and fallbacks included",
    )
    p.add_argument("--retries", type=int, metavar="N", help="retries per provider")
    p.add_argument("--no-fallback", action="store_true", help="stop after the first provider")
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--stream",
        dest="stream",
        action="store_true",
        default=None,
        help="write text as it arrives (default on a terminal)",
    )
    g.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="write the answer once complete (default into pipes and files)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default) or one JSON object with usage and attempts",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the answer to FILE atomically (no file on failure)",
    )
    p.add_argument(
        "--jsonl",
        action="store_true",
        help="batch: one request per stdin line, one JSON result per output line",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="with --jsonl: requests in flight at once (default 1)",
    )
    p.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help="refuse (exit 77) if the estimated cost is higher",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the plan and estimates, send nothing"
    )
    p.add_argument("--no-log", action="store_true", help="do not write the usage log")
    p.set_defaults(run=run)


def run(args) -> int:
    from rfctl import config
    from rfctl.output import stdout_is_tty

    paths = config.resolve_paths(args)
    cfg = config.load(paths)
    if args.jsonl:
        from rfctl.batch import run_batch
        from rfctl.errors import UsageError

        if args.dry_run:
            raise UsageError("--dry-run plans one prompt; it does not combine with --jsonl")
        if args.output:
            _check_writable(args.output)
        return run_batch(args, cfg, paths)
    req = _request(args, cfg, _read_prompt(args))
    opts = options(args, cfg)
    live = (
        args.output is None
        and args.format == "text"
        and (args.stream if args.stream is not None else stdout_is_tty())
    )
    opts.live = live
    if args.dry_run:
        from rfctl.router import dry_run

        return dry_run(cfg, paths, req, opts)
    if args.output:
        _check_writable(args.output)
    return _answer(cfg, paths, req, opts, args)


def _check_writable(path: str) -> None:
    # Fail before anything is sent (and paid for), not after.
    import os

    from rfctl.errors import Exit, RfctlError

    if os.path.exists(path) and not os.path.isdir(path) and not os.path.isfile(path):
        if os.access(path, os.W_OK):  # /dev/stdout, a FIFO: written in place
            return
        raise RfctlError(f"cannot write {path}: permission denied", Exit.CANTCREAT)
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise RfctlError(f"cannot write {path}: directory missing or not writable", Exit.CANTCREAT)
    if os.path.isdir(path):
        raise RfctlError(f"cannot write {path}: is a directory", Exit.CANTCREAT)


def _read_prompt(args) -> str:
    from rfctl.errors import InputError

    parts = []
    if sys.stdin is not None and not sys.stdin.isatty():  # None: started with stdin closed
        data = sys.stdin.buffer.read()
        try:
            parts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError("stdin is not UTF-8 text") from None
    if args.prompt:
        arg_text = " ".join(args.prompt)
        try:
            arg_text.encode("utf-8")  # undecodable argv bytes arrive as lone surrogates
        except UnicodeEncodeError:
            raise InputError("the PROMPT arguments are not UTF-8 text") from None
        parts.append(arg_text)
    prompt = "\n\n".join(p.rstrip("\n") for p in parts if p.strip())
    if not prompt.strip():
        raise InputError("empty prompt: give PROMPT arguments or pipe text on stdin")
    return prompt


def _request(args, cfg, prompt):
    from rfctl.errors import UsageError
    from rfctl.providers.base import Request

    max_tokens = args.max_tokens if args.max_tokens is not None else cfg.defaults.max_tokens
    if max_tokens is not None and max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    return Request(
        prompt=prompt,
        model=args.model,
        system=args.system,
        temperature=args.temperature,
        max_tokens=max_tokens,
        stop=list(args.stop),
    )


def options(args, cfg):
    """Router options: flags over config defaults."""
    from rfctl.errors import UsageError
    from rfctl.router import Options

    d = cfg.defaults
    opts = Options(
        providers=list(args.provider),
        model=args.model,
        strategy=args.strategy or d.strategy,
        capability=args.capability,
        timeout=args.timeout if args.timeout is not None else d.timeout,
        deadline=args.deadline if args.deadline is not None else d.deadline,
        retries=args.retries if args.retries is not None else d.retries,
        fallback=not args.no_fallback,
        max_cost=args.max_cost,
        log=not args.no_log,
        verbose=getattr(args, "verbose", 0) or 0,
        # Flags beat per-provider config; config defaults do not.
        timeout_explicit=args.timeout is not None,
        retries_explicit=args.retries is not None,
        strategy_explicit=args.strategy is not None,
        json=args.format == "json",
    )
    import math

    # Flags are checked here; the same values from the config file were
    # checked when it was read (exit 78 naming the key).
    for flag, value in (("timeout", args.timeout), ("deadline", args.deadline)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UsageError(f"--{flag} must be a positive number of seconds")
    if args.retries is not None and args.retries < 0:
        raise UsageError("--retries must be 0 or more")
    if args.temperature is not None and not (
        math.isfinite(args.temperature) and args.temperature >= 0
    ):
        raise UsageError("--temperature must be 0 or more")
    if opts.max_cost is not None and not (math.isfinite(opts.max_cost) and opts.max_cost >= 0):
        raise UsageError("--max-cost must be 0 or more")
    return opts


def _answer(cfg, paths, req, opts, args) -> int:
    from rfctl import router
    from rfctl.output import LiveWriter, with_newline

    writer = LiveWriter() if opts.live else None
    # The router streams on the wire either way (stall detection, TTFT); only
    # live output hands text to the writer as it arrives.
    outcome = router.run(cfg, paths, req, opts, on_text=writer)
    if args.format == "json":
        import json

        line = json.dumps(result_record(outcome), ensure_ascii=False) + "\n"
        if args.output and outcome.ok:
            _write_output(args.output, line)
        elif not args.output:
            sys.stdout.write(line)
            sys.stdout.flush()
        if not outcome.ok:
            from rfctl.cli import _error

            _error(outcome.error.message)  # the record says it too; stderr is for people
            return int(outcome.error.code)
        return 0
    if not outcome.ok:
        if writer is not None and writer.chars:
            # Never glue a second answer onto a half-written one: say where it was cut.
            writer.finish()
        raise outcome.error
    text = outcome.result.text
    if writer is not None:
        writer.finish()
    elif args.output:
        _write_output(args.output, with_newline(text))
    else:
        sys.stdout.write(with_newline(text))
        sys.stdout.flush()
    return 0


def _write_output(path: str, data: str) -> None:
    from rfctl.atomic import write_file_atomic
    from rfctl.errors import Exit, RfctlError

    try:
        write_file_atomic(path, data)
    except OSError as e:
        raise RfctlError(f"cannot write {path}: {e.strerror}", Exit.CANTCREAT) from None


def result_record(outcome, id=None, metadata=None) -> dict:
    """generate's machine output (DESIGN.md "generate's machine output")."""
    rec: dict = {}
    if id is not None:
        rec["id"] = id
    rec["ok"] = outcome.ok
    if outcome.ok:
        r = outcome.result
        rec["text"] = r.text
        rec["provider"] = outcome.provider.name
        rec["model"] = r.model
        rec["finish_reason"] = r.finish_reason
        u = r.usage
        usage = {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}
        if u.cached_input_tokens is not None:
            usage["cached_input_tokens"] = u.cached_input_tokens
        usage["source"] = u.source
        rec["usage"] = usage
        rec["cost_usd"] = outcome.cost_usd
        rec["latency_ms"] = round(r.latency_ms, 1)
        rec["ttft_ms"] = None if r.ttft_ms is None else round(r.ttft_ms, 1)
    else:
        rec["error"] = {"code": int(outcome.error.code), "message": outcome.error.message}
    rec["attempts"] = [a.as_json() for a in outcome.attempts]
    rec["request_id"] = outcome.request_id
    if metadata is not None:
        rec["metadata"] = metadata
    return rec
