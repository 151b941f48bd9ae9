"""rfctl generate: a prompt in, an answer out."""

from __future__ import annotations

import sys

from rfctl.config import CAPABILITIES, STRATEGIES
from rfctl.prompt_input import parse_size
from rfctl.providers.thinking import EFFORTS

HELP = "send a prompt (arguments and/or stdin) and print the answer"

DESCRIPTION = """\
Send a prompt to the first provider that can answer it and print the answer.
The prompt is stdin followed by the PROMPT arguments (`cat file | rfctl
generate "summarise this"`); -n reads no stdin, which a `while read` loop
needs (else the first call takes the rest of the loop's input). When
stdout is a terminal the answer streams as it arrives; into a pipe or file
(-o) it is written once complete, so a fallback never leaves half an answer
behind."""


def add_parser(sub, parents):
    from rfctl.commands.parser import command_parser

    p = command_parser(sub, "generate", parents, HELP, DESCRIPTION)
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
    p.add_argument(
        "-n",
        "--no-stdin",
        action="store_true",
        help="do not read stdin: the prompt is the arguments (for `while read` loops)",
    )
    p.add_argument(
        "--max-input",
        type=parse_size,
        metavar="SIZE",
        help="largest prompt read, in bytes or with K/M/G (default 16M); past it exit 65",
    )
    p.add_argument(
        "--require-complete",
        action="store_true",
        help="an empty answer or one cut at max_tokens is exit 65, with nothing written",
    )
    # Attachments, JSON Schema answers, reasoning (rfctl/attachments.py, schema.py, reasoning.py).
    p.add_argument(
        "-a",
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        help="attach an image (PNG, JPEG, GIF, WebP) or a PDF (repeatable; - reads it "
        "from stdin, and the prompt then comes from the arguments only)",
    )
    p.add_argument(
        "--schema",
        metavar="FILE",
        help="answer with a JSON document valid against this JSON Schema (a file, or inline "
        "JSON); an answer that does not validate is a failed attempt",
    )
    p.add_argument(
        "--thinking",
        type=int,
        metavar="TOKENS",
        help="let the model reason, with this many tokens on top of --max-tokens "
        "(models without capability reasoning are skipped)",
    )
    p.add_argument(
        "--reasoning-effort",
        choices=EFFORTS,
        help="let the model reason this hard (models without capability reasoning are skipped)",
    )
    p.add_argument(
        "--show-thinking",
        action="store_true",
        help="write the model's reasoning to stderr (it never goes to stdout)",
    )
    _add_reuse_options(p)
    p.set_defaults(run=run)


def _add_reuse_options(p) -> None:
    g = p.add_argument_group("templates, conversations and caching")
    g.add_argument(
        "-T",
        "--template",
        metavar="NAME",
        help="use the saved request NAME (see 'rfctl templates')",
    )
    g.add_argument(
        "-V",
        dest="var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a template variable (repeatable)",
    )
    conv = g.add_mutually_exclusive_group()
    conv.add_argument(
        "-c",
        "--continue",
        dest="continue_",
        action="store_true",
        help="continue the most recent conversation (starts one when there is none)",
    )
    conv.add_argument("--conversation", metavar="ID", help="continue the conversation ID")
    conv.add_argument(
        "--new-conversation",
        nargs="?",
        const="",
        metavar="NAME",
        help="start a conversation named NAME, or with a fresh id (put the prompt after --)",
    )
    g.add_argument(
        "--strict",
        action="store_true",
        help="exit 65 instead of leaving out the oldest turns that do not fit the context window",
    )
    cache = g.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        action="store_true",
        help="answer from the response cache when the same request was answered before",
    )
    cache.add_argument(
        "--no-cache", action="store_true", help="do not use the response cache ([cache] enabled)"
    )
    cache.add_argument(
        "--refresh", action="store_true", help="ask again and replace the cached answer"
    )
    g.add_argument(
        "--cache-prompt",
        nargs="?",
        const="5m",
        choices=("5m", "1h"),
        metavar="TTL",
        help="Anthropic prompt caching of the system prompt and history: 5m (default) or 1h",
    )


def run(args) -> int:
    from rfctl import config, settings
    from rfctl.output import check_writable, output_path, stdout_is_tty

    args.output = output_path(args.output)  # `-o -` is stdout
    paths = config.resolve_paths(args)
    cfg = config.load(paths)
    if args.jsonl:
        from rfctl.batch import run_batch
        from rfctl.errors import UsageError

        if args.no_stdin:
            raise UsageError("--jsonl reads its requests from stdin; it does not combine with -n")
        if args.dry_run:
            from rfctl.commands.dry_run import show_batch

            return show_batch(args, cfg, paths)
        if args.output:
            check_writable(args.output)
        from rfctl.reuse import check_batch

        check_batch(args)
        return run_batch(args, cfg, paths)
    from rfctl.pacing import for_call
    from rfctl.reuse import Session

    pace = for_call(args, cfg, paths, batch=False)  # also: --unordered/--resume need --jsonl
    session = Session(args, cfg, paths)
    prompt = session.template(_read_prompt(args, allow_empty=bool(args.template)))
    req = settings.request(args, cfg, prompt)
    opts = settings.options(args)
    opts.pace = pace
    session.prepare(req, dry=args.dry_run)
    opts.live = (
        args.output is None
        and args.format == "text"
        and not args.require_complete  # held back until known to be whole
        and req.schema is None  # a JSON answer is checked whole before it is written
        and (args.stream if args.stream is not None else stdout_is_tty())
    )
    if args.dry_run:
        from rfctl.commands.dry_run import show

        return show(cfg, paths, req, opts)
    if args.output:
        check_writable(args.output)
    return _answer(cfg, paths, req, opts, args, session)


def _read_prompt(args, allow_empty: bool = False) -> str:
    from rfctl import prompt_input
    from rfctl.errors import InputError

    parts = []
    limit = prompt_input.limit_of(args)
    attached_stdin = "-" in (getattr(args, "attach", None) or [])  # -a -: stdin is a file
    # None: started with stdin closed; --no-stdin: a `while read` loop's stdin is not ours.
    if (
        not attached_stdin
        and sys.stdin is not None
        and not sys.stdin.isatty()
        and not getattr(args, "no_stdin", False)
    ):
        data = prompt_input.read_stdin(limit)
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
    if not prompt.strip() and not allow_empty:  # a template may need no input
        raise InputError("empty prompt: give PROMPT arguments or pipe text on stdin")
    prompt_input.check_size(prompt, limit)
    return prompt


def _answer(cfg, paths, req, opts, args, session) -> int:
    from rfctl import complete, routing
    from rfctl.output import LiveWriter, with_newline, write_file

    writer = LiveWriter() if opts.live else None
    thoughts = None
    if opts.show_thinking:
        from rfctl.reasoning import ReasoningWriter

        req.on_reasoning = thoughts = ReasoningWriter()
    relay = writer
    if writer is not None and thoughts is not None:
        relay = thoughts.then(writer)  # the answer starts on a line of its own
    # Routing streams on the wire either way (stall detection, TTFT); only
    # live output hands text to the writer as it arrives.
    outcome = session.cached(opts, writer) or routing.run(cfg, paths, req, opts, on_text=relay)
    if thoughts is not None:
        thoughts.end()
    if req.schema is not None:
        from rfctl import schema

        schema.verdict(outcome)  # exit 65 when answers came but none validated
    # Warns (an empty answer; a cut at a limit not asked for), or fails the call (65).
    complete.check(outcome, args.require_complete, asked_limit=args.max_tokens is not None)
    session.finish(outcome)  # after the checks: a rejected answer is not cached
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
    if req.schema is not None:
        from rfctl import schema
        from rfctl.output import stdout_is_tty

        text = schema.render(text, pretty=not args.output and stdout_is_tty())
    if writer is not None:
        writer.finish()
    elif args.output:
        write_file(args.output, with_newline(text))
    else:
        sys.stdout.write(with_newline(text))
        sys.stdout.flush()
    return 0
