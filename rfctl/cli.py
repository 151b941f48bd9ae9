"""Command-line parsing and dispatch, nothing else.

Every subcommand lives in rfctl/commands/<name>.py and exposes
`add_parser(subparsers, parents)` and `run(args) -> int`. Command modules keep
their top-level imports light (argparse and stdlib only) because all of them
are imported to build the parser; heavy work is imported inside `run`.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys

from rfctl import __version__
from rfctl.errors import Exit, RfctlError

COMMANDS = ("generate", "providers", "models", "usage", "probe", "config", "completions")


class _Parser(argparse.ArgumentParser):
    """A usage error is one line, like every other error (exit 2)."""

    def error(self, message):
        _error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(int(Exit.USAGE))


def _common_options() -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand name.

    SUPPRESS keeps a value given before the subcommand from being reset by the
    subparser's default.
    """
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("files (each also settable by environment variable)")
    g.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS, help="config file (env RFCTL_CONFIG)"
    )
    g.add_argument(
        "--models-file",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="user model registry merged over the shipped one (env RFCTL_MODELS)",
    )
    g.add_argument(
        "--usage-log",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="usage log (env RFCTL_USAGE_LOG)",
    )
    g.add_argument(
        "--state",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="router state: cooldowns, round-robin cursor (env RFCTL_STATE)",
    )
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="more detail on stderr (repeatable)",
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    import importlib

    common = _common_options()
    parser = _Parser(
        prog="rfctl",
        description="Send prompts to LLM providers from shell pipes, cron jobs and Makefiles.",
        epilog="Run 'rfctl COMMAND --help' for a command's options. "
        "Exit codes: 0 ok, 1 some --jsonl lines failed, 2 usage, 65 bad input, 69 unavailable, "
        "73 cannot write -o file, 75 temporary failure, 77 cost limit, 78 config error, "
        "130 interrupted (probe: 0/1/2/3, monitoring style).",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"rfctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"rfctl.commands.{name}")
        module.add_parser(sub, [common])
    return parser


def _quiet_broken_pipe() -> None:
    # The reader went away (`rfctl ... | head -1`): stop quietly. Point stdout at
    # /dev/null so the interpreter's final flush does not raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:  # the hot path for scripts that check the tool exists
        print(f"rfctl {__version__}")
        return 0
    if argv[:1] == ["models"] and "--names" in argv:
        # Shell completion runs this on every TAB: skip building the full parser.
        from rfctl.commands.models import names_fast

        code = names_fast(argv[1:])
        if code is not None:
            return code
    if sys.stdout is None:  # started with stdout closed (`>&-`): nowhere to answer
        _error("stdout is closed")
        return int(Exit.CANTCREAT)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except RfctlError as e:
        _error(e.message)
        return int(e.code)
    except KeyboardInterrupt:
        # A second Ctrl-C during clean-up should not print a traceback either,
        # and worker threads still waiting on a server must not hold the exit.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return _exit_now(Exit.INTERRUPTED, newline=True)
    except BrokenPipeError:
        _quiet_broken_pipe()
        return _exit_now(0)  # a --jsonl pool may still wait on servers
    except OSError as e:
        if e.errno == errno.EPIPE:
            _quiet_broken_pipe()
            return _exit_now(0)
        # Typically stdout itself failing (a full disk, /dev/full).
        where = e.filename or "output"
        _error(f"cannot write {where}: {e.strerror or e}")
        return _exit_now(Exit.CANTCREAT)


def _exit_now(code: int, newline: bool = False) -> int:
    """Flush and exit. os._exit when worker threads (a --jsonl pool waiting on a
    silent server) are still alive, since a normal exit would join them."""
    import threading

    for stream in (sys.stdout, sys.stderr):
        try:
            if newline and stream is sys.stderr:
                stream.write("\n")
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        os._exit(int(code))
    return int(code)


def _error(message: str) -> None:
    try:
        print(f"rfctl: error: {message}", file=sys.stderr)
    except (BrokenPipeError, OSError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
