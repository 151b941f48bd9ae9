"""The parser as data: argparse's tree of commands and options as plain dataclasses.

`walk(parser)` is the one place that reads argparse internals; the renderers
(bash, zsh, fish, man) work on the tree it returns. Nothing here knows rfctl's
options by name except the tables below that say what kind of value an
argument takes (files, provider names, model names), which argparse cannot
express.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

# What an argument's value is, when argparse's choices do not say:
# metavars naming files or directories complete as paths ...
FILE_METAVARS = frozenset({"FILE", "PATH"})
DIR_METAVARS = frozenset({"DIR"})
# ... and arguments with these dests or metavars complete as the names of
# configured providers or known models, looked up at completion time.
NAME_ARGUMENTS = {
    "provider": "providers",
    "providers": "providers",
    "PROVIDER": "providers",
    "model": "models",
    "MODEL": "models",
    "template": "templates",
}
# The commands that print those names, one per line (argv after `rfctl`).
# Options from PASS_THROUGH found on the line being completed are passed on,
# so that `rfctl --config other.toml generate -p <TAB>` lists other.toml's providers.
LOOKUPS = {
    "providers": ("completions", "--list", "providers"),
    "models": ("models", "--names"),
    "templates": ("completions", "--list", "templates"),
}
PASS_THROUGH = ("--config", "--models-file")


# The command that rewrites the generated files (completions/, man/rfctl.1).
REGENERATE = "python -m rfctl.commands.completions --write"
GENERATED = f"Generated from rfctl's argument parser by `{REGENERATE}`; do not edit."


@dataclass
class Option:
    flags: list[str]  # ["-m", "--model"]
    help: str
    takes_value: bool
    metavar: str  # what the value is called ("MODEL", "FILE"); "" for flags
    choices: list[str]
    values: str | None  # "file" | "dir" | "providers" | "models" | "templates" | None
    repeatable: bool
    excludes: list[str]  # flags of the options it cannot be combined with
    ends_parsing: bool  # -h/--help, --version: nothing else matters after them


@dataclass
class Positional:
    metavar: str
    help: str
    nargs: str | int | None
    choices: list[str]
    values: str | None


@dataclass
class Command:
    path: tuple[str, ...]  # () for rfctl itself, ("config", "init") for `rfctl config init`
    help: str  # one line, as in the parent's command list
    description: str
    options: list[Option]
    positionals: list[Positional]
    subcommands: list[Command] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(("rfctl", *self.path))

    def walk(self):
        """This command and every command below it, depth first."""
        yield self
        for sub in self.subcommands:
            yield from sub.walk()


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), help: str = "") -> Command:
    """The command tree under `parser`; hidden (help=SUPPRESS) arguments are left out."""
    exclusive: dict[int, list[str]] = {}
    for group in parser._mutually_exclusive_groups:
        flags = [f for a in group._group_actions for f in a.option_strings]
        for action in group._group_actions:
            exclusive[id(action)] = [f for f in flags if f not in action.option_strings]

    cmd = Command(path, help, (parser.description or help).strip("\n"), [], [])
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: _help(a, parser.prog) for a in action._choices_actions}
            for name, sub in action.choices.items():
                cmd.subcommands.append(walk(sub, (*path, name), helps.get(name, "")))
        elif action.option_strings:
            cmd.options.append(_option(action, parser.prog, exclusive.get(id(action), [])))
        else:
            cmd.positionals.append(
                Positional(
                    _metavar(action),
                    _help(action, parser.prog),
                    action.nargs,
                    _choices(action),
                    _values(action),
                )
            )
    return cmd


def _option(action: argparse.Action, prog: str, excludes: list[str]) -> Option:
    takes_value = action.nargs != 0
    return Option(
        flags=list(action.option_strings),
        help=_help(action, prog),
        takes_value=takes_value,
        metavar=_metavar(action) if takes_value else "",
        choices=_choices(action),
        values=_values(action) if takes_value else None,
        repeatable=isinstance(
            action,
            (
                argparse._AppendAction,
                argparse._AppendConstAction,
                argparse._CountAction,
                argparse._ExtendAction,
            ),
        ),
        excludes=excludes,
        ends_parsing=isinstance(action, (argparse._HelpAction, argparse._VersionAction)),
    )


def _metavar(action: argparse.Action) -> str:
    if isinstance(action.metavar, str):
        return action.metavar
    if isinstance(action.metavar, tuple):
        return " ".join(action.metavar)
    if action.choices is not None and not action.option_strings:
        return "|".join(map(str, action.choices))
    return action.dest.upper() if action.option_strings else action.dest


def _choices(action: argparse.Action) -> list[str]:
    return [str(c) for c in action.choices] if action.choices is not None else []


def _values(action: argparse.Action) -> str | None:
    if action.choices is not None:
        return None  # the choices say it all
    metavar = action.metavar if isinstance(action.metavar, str) else None
    if metavar in FILE_METAVARS:
        return "file"
    if metavar in DIR_METAVARS:
        return "dir"
    return NAME_ARGUMENTS.get(metavar or "") or NAME_ARGUMENTS.get(action.dest)


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%" in text:  # argparse's own %(default)s etc.
        params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
        params["prog"] = prog
        if params.get("choices") is not None:
            params["choices"] = ", ".join(map(str, params["choices"]))
        text = text % params
    return " ".join(text.split())
