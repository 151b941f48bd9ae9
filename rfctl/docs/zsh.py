"""The zsh completion script (an `_arguments` function per command), rendered
from the command tree."""

from __future__ import annotations

import argparse
import re

from rfctl.docs.bash import sh_quote
from rfctl.docs.tree import GENERATED, LOOKUPS, PASS_THROUGH, Command, Option, Positional


def _zsh_escape_help(text: str) -> str:
    # Inside _arguments' [description]: brackets and backslashes need a backslash.
    return re.sub(r"([\[\]\\])", r"\\\1", text)


def _zsh_word(word: str) -> str:
    return re.sub(r"([^\w./@%+=-])", r"\\\1", word)


def _zsh_action(metavar: str, values: str | None, choices: list[str]) -> str:
    message = metavar.replace(":", "\\:") or "value"
    if choices:
        action = "(" + " ".join(_zsh_word(c) for c in choices) + ")"
    else:
        action = {
            "file": "_files",
            "dir": "_files -/",
            "providers": "_rfctl_providers",
            "models": "_rfctl_models",
            "templates": "_rfctl_templates",
        }.get(values or "", " ")
    return f"{message}:{action}"


def _zsh_option_specs(o: Option) -> list[str]:
    specs = []
    for flag in o.flags:
        if o.ends_parsing:
            excl = "(- *)"
        elif o.repeatable:
            excl = "(" + " ".join(o.excludes) + ")*" if o.excludes else "*"
        else:
            excl = "(" + " ".join(o.flags + o.excludes) + ")"
        spec = excl + flag
        if o.takes_value:
            spec += "=" if flag.startswith("--") else "+"
        spec += f"[{_zsh_escape_help(o.help)}]"
        if o.takes_value:
            spec += ":" + _zsh_action(o.metavar, o.values, o.choices)
        specs.append(sh_quote(spec))
    return specs


def _zsh_positional_specs(p: Positional) -> list[str]:
    action = _zsh_action(p.metavar, p.values, p.choices)
    if p.nargs in ("*", argparse.REMAINDER):
        return [sh_quote("*:" + action)]
    if p.nargs == "?":
        return [sh_quote("::" + action)]
    if p.nargs == "+":
        return [sh_quote(":" + action), sh_quote("*:" + action)]
    return [sh_quote(":" + action)] * (p.nargs if isinstance(p.nargs, int) else 1)


def _zsh_function(cmd: Command) -> str:
    specs = [s for o in cmd.options for s in _zsh_option_specs(o)]
    body = []
    if cmd.subcommands:
        specs += ["': :->command'", "'*:: :->argument'"]
        described = "\n".join(
            f"        {sh_quote(c.path[-1].replace(':', chr(92) + ':') + ':' + c.help)}"
            for c in cmd.subcommands
        )
        branches = "\n".join(
            f"        ({c.path[-1]}) {_zsh_fname(c)} && ret=0 ;;" for c in cmd.subcommands
        )
        body.append(
            "    case $state in\n"
            "    (command)\n"
            "      local -a commands=(\n"
            f"{described}\n"
            "      )\n"
            f"      _describe -t commands {sh_quote(cmd.name + ' command')} commands && ret=0 ;;\n"
            "    (argument)\n"
            f"      curcontext=${{curcontext%:*:*}}:{'-'.join(('rfctl', *cmd.path))}-$words[1]:\n"
            "      case $words[1] in\n"
            f"{branches}\n"
            "      esac ;;\n"
            "    esac"
        )
    else:
        specs += [s for p in cmd.positionals for s in _zsh_positional_specs(p)]
    lines = " \\\n    ".join(specs)
    return (
        f"{_zsh_fname(cmd)}() {{\n"
        "  local curcontext=$curcontext state line ret=1\n"
        "  typeset -A opt_args\n"
        f"  _arguments -s -S -C \\\n    {lines} && ret=0\n"
        + ("\n".join(body) + "\n" if body else "")
        + "  return ret\n"
        "}\n"
    )


def _zsh_fname(cmd: Command) -> str:
    if not cmd.path:
        return "_rfctl_main"
    return "_rfctl" + "".join("__" + re.sub(r"\W", "_", p) for p in cmd.path)


def render_zsh(root: Command) -> str:
    functions = "\n".join(_zsh_function(c) for c in root.walk())
    lookups = "\n".join(
        f"_rfctl_{name}() {{\n"
        "  local -a names\n"
        f'  names=(${{(f)"$(_call_program {name} ${{(q)_rfctl_cmd}} ${{(q)_rfctl_pass[@]}} '
        f'{" ".join(argv)} 2>/dev/null)"}})\n'
        f"  _wanted {name} expl {name[:-1]} compadd -a names\n"
        "}\n"
        for name, argv in LOOKUPS.items()
    )
    pass_through = "|".join(PASS_THROUGH)
    return _ZSH.format(
        generated=GENERATED, functions=functions, lookups=lookups, pass_through=pass_through
    )


_ZSH = r"""#compdef rfctl
# zsh completion for rfctl
# {generated}
#
# Enable it by putting this file, named _rfctl, in a directory on $fpath before
# compinit runs, or with `source <(rfctl completions zsh)` after compinit.

{functions}
{lookups}
_rfctl() {{
  # The command as typed and the options that choose its files, for the name
  # look-ups (words is rewritten below each subcommand).
  local _rfctl_cmd=$words[1] i
  local -a _rfctl_pass
  for (( i = 2; i < CURRENT; i++ )); do
    case $words[i] in
      ({pass_through}) _rfctl_pass+=($words[i] ${{(Q)words[i+1]}}) ;;
      ({pass_through})=*) _rfctl_pass+=(${{(Q)words[i]}}) ;;
    esac
  done
  _rfctl_main "$@"
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _rfctl "$@"
else
  compdef _rfctl rfctl
fi
"""
