"""The argument parser: rfctl's common options and every command's parser.

Every command lives in rfctl/commands/<name>.py and exposes
`add_parser(subparsers, parents)` and `run(args) -> int`. Building the parser
imports every command module, on every run, so command modules keep their
top-level imports light (argparse, stdlib, rfctl.config's constants); what a
command needs to do its work is imported inside `run`.
"""

from __future__ import annotations

import argparse
import importlib

from rfctl import __version__
from rfctl.errors import Exit

COMMANDS = (
    "generate",
    "providers",
    "models",
    "usage",
    "probe",
    "config",
    "cache",
    "conversations",
    "templates",
    "completions",
    "local",
)

EPILOG = (
    "Run 'rfctl COMMAND --help' for a command's options. "
    "Exit codes: 0 ok, 1 some --jsonl lines failed, 2 usage, 65 bad input, 69 unavailable, "
    "73 cannot write the output, 75 temporary failure, 77 cost limit, 78 config error, "
    "130 interrupted (129 SIGHUP, 143 SIGTERM); probe: 0/1/2/3, monitoring style."
)


# The files every command may be pointed at: (option, help).
FILE_OPTIONS = (
    ("--config", "config file (env RFCTL_CONFIG)"),
    ("--models-file", "user model registry merged over the shipped one (env RFCTL_MODELS)"),
    ("--usage-log", "usage log (env RFCTL_USAGE_LOG)"),
    (
        "--state",
        "router state: cooldowns, round-robin cursor, rate buckets, budget reservations "
        "(env RFCTL_STATE)",
    ),
)


class Parser(argparse.ArgumentParser):
    """A usage error is one line, like every other error (exit 2)."""

    def error(self, message):
        from rfctl import console

        console.error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(int(Exit.USAGE))


def common_options() -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand name.

    SUPPRESS keeps a value given before the subcommand from being reset by the
    subparser's default.
    """
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("files (each also settable by environment variable)")
    for flag, help in FILE_OPTIONS:
        g.add_argument(flag, metavar="FILE", default=argparse.SUPPRESS, help=help)
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="more detail on stderr (repeatable)",
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = Parser(
        prog="rfctl",
        description="Send prompts to LLM providers from shell pipes, cron jobs and Makefiles.",
        epilog=EPILOG,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"rfctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"rfctl.commands.{name}")
        module.add_parser(sub, [common])
    return parser


def command_parser(sub, name: str, parents, help: str, description: str):
    """A command's parser under `sub`; its description is printed as written."""
    return sub.add_parser(
        name,
        parents=parents,
        help=help,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def action_command(sub, name, parents, help, description, run, actions, usage, default=None):
    """A command whose first argument is an action (`rfctl cache prune`): its
    parser, with ACTION (optional when there is a `default`) and --format/--json."""
    from rfctl.table import add_format_options

    p = command_parser(sub, name, parents, help, description)
    optional = {} if default is None else {"nargs": "?", "default": default}
    p.add_argument("action", choices=actions, metavar="ACTION", help=usage, **optional)
    add_format_options(p, jsonl=False)
    p.set_defaults(run=run)
    return p


def positive_float(text: str) -> float:
    """An argparse type: a finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value
