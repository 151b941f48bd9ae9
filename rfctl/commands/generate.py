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
    # --jsonl batches: order, resume, pacing (rfctl.batch, rfctl.pacing)
    p.add_argument(
        "--unordered",
        action="store_true",
        help="with --jsonl: write each result as it finishes (each carries its id)",
    )
    p.add_argument(
        "--resume",
        metavar="FILE",
        help="with --jsonl: skip ids with a successful result in FILE (may be the -o file)",
    )
    p.add_argument(
        "--rpm", type=float, metavar="N", help="at most N requests per minute per provider"
    )
    p.add_argument(
        "--tpm",
        type=float,
        metavar="N",
        help="at most N estimated tokens per minute per provider",
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
    from rfctl import config, settings
    from rfctl.output import check_writable, stdout_is_tty

    paths = config.resolve_paths(args)
    cfg = config.load(paths)
    if args.jsonl:
        from rfctl.batch import run_batch
        from rfctl.errors import UsageError

        if args.dry_run:
            raise UsageError("--dry-run plans one prompt; it does not combine with --jsonl")
        if args.output:
            check_writable(args.output)
        return run_batch(args, cfg, paths)
    from rfctl.pacing import for_call

    pace = for_call(args, cfg, paths, batch=False)  # also: --unordered/--resume need --jsonl
    req = settings.request(args, cfg, _read_prompt(args))
    opts = settings.options(args)
    opts.pace = pace
    opts.live = (
        args.output is None
        and args.format == "text"
        and (args.stream if args.stream is not None else stdout_is_tty())
    )
    if args.dry_run:
        from rfctl.commands.dry_run import show

        return show(cfg, paths, req, opts)
    if args.output:
        check_writable(args.output)
    return _answer(cfg, paths, req, opts, args)


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


def _answer(cfg, paths, req, opts, args) -> int:
    from rfctl import routing
    from rfctl.output import LiveWriter, with_newline, write_file

    writer = LiveWriter() if opts.live else None
    # Routing streams on the wire either way (stall detection, TTFT); only
    # live output hands text to the writer as it arrives.
    outcome = routing.run(cfg, paths, req, opts, on_text=writer)
    if args.format == "json":
        import json

        line = json.dumps(routing.result_record(outcome), ensure_ascii=False) + "\n"
        if args.output and outcome.ok:
            write_file(args.output, line)
        elif not args.output:
            sys.stdout.write(line)
            sys.stdout.flush()
        if not outcome.ok:
            from rfctl import console

            console.error(outcome.error.message)  # the record says it too; stderr is for people
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
        write_file(args.output, with_newline(text))
    else:
        sys.stdout.write(with_newline(text))
        sys.stdout.flush()
    return 0
