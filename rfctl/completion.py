"""Shell completion scripts for rfctl, generated from the live argparse parser.

The parser is the single source of truth: `walk()` turns it into a small tree
of commands and options, and one renderer per shell turns that tree into a
script. Nothing here knows rfctl's options by name except the few tables below
that say what kind of value an argument takes (files, provider names, model
names), which argparse cannot express.

The generated files are committed (completions/ and man/rfctl.1) so that the
wheel can ship them; after changing any option, regenerate them all with

    python -m rfctl.completion --write

and `python -m rfctl.completion --check` (what the tests do) fails while one
is stale. `rfctl completions SHELL` prints the same scripts at run time.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

SHELLS = ("bash", "zsh", "fish")

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
}
# The commands that print those names, one per line (argv after `rfctl`).
# Options from PASS_THROUGH found on the line being completed are passed on,
# so that `rfctl --config other.toml generate -p <TAB>` lists other.toml's providers.
LOOKUPS = {
    "providers": ("completions", "--list", "providers"),
    "models": ("models", "--names"),
}
PASS_THROUGH = ("--config", "--models-file")

GENERATED = (
    "Generated from rfctl's argument parser by `python -m rfctl.completion --write`; do not edit."
)


# ---------------------------------------------------------------- the tree


@dataclass
class Option:
    flags: list[str]  # ["-m", "--model"]
    help: str
    takes_value: bool
    metavar: str  # what the value is called ("MODEL", "FILE"); "" for flags
    choices: list[str]
    values: str | None  # "file" | "dir" | "providers" | "models" | None (free text)
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


def tree() -> Command:
    from rfctl.cli import build_parser

    return walk(build_parser())


# ---------------------------------------------------------------- bash


def _sh_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def _kind(values: str | None, choices: list[str]) -> str:
    """A value kind as the bash and fish scripts spell it."""
    if choices:
        return "choices " + " ".join(choices)
    return values or ""


def render_bash(root: Command) -> str:
    spec, kinds = [], []
    for cmd in root.walk():
        key = " ".join(cmd.path)
        opts = [f for o in cmd.options for f in o.flags]
        valued = [f for o in cmd.options if o.takes_value for f in o.flags]
        subs = [c.path[-1] for c in cmd.subcommands]
        spec.append(
            f"    {_sh_quote(key)})\n"
            f"        subs={_sh_quote(' '.join(subs))}\n"
            f"        opts={_sh_quote(' '.join(opts))}\n"
            f"        valued={_sh_quote(' '.join(valued))} ;;"
        )
        by_kind: dict[str, list[str]] = {}
        for o in cmd.options:
            k = _kind(o.values, o.choices)
            if o.takes_value and k:
                by_kind.setdefault(k, []).extend(f"{key}|{f}" for f in o.flags)
        if cmd.positionals and not cmd.subcommands:
            p = cmd.positionals[0]  # rfctl's commands take one kind of positional at most
            k = _kind(p.values, p.choices)
            if k:
                by_kind.setdefault(k, []).append(f"{key}|")
        for k, keys in by_kind.items():
            patterns = "|".join(_sh_quote(x) for x in keys)
            kinds.append(f"    {patterns})\n        kind={_sh_quote(k)} ;;")
    lookups = "\n".join(
        f'    {name}) names=$("${{words[0]}}" "${{pass[@]}}" {" ".join(argv)} 2>/dev/null) ;;'
        for name, argv in LOOKUPS.items()
    )
    pass_through = "|".join(PASS_THROUGH)
    return _BASH.format(
        generated=GENERATED,
        spec="\n".join(spec),
        kinds="\n".join(kinds),
        lookups=lookups,
        pass_through=pass_through,
    )


_BASH = r"""# bash completion for rfctl
# {generated}
#
# Enable it with `source <(rfctl completions bash)` in ~/.bashrc, or install this
# file as rfctl.bash in a bash-completion directory. Needs bash >= 4.3; does not
# need the bash-completion package.

# _rfctl_spec PATH: set subs (subcommands), opts (options) and valued (options
# that take a value) for the command path PATH ("" is rfctl itself).
_rfctl_spec() {{
    case $1 in
{spec}
    *)
        subs='' opts='' valued='' ;;
    esac
}}

# _rfctl_kind PATH OPTION: set kind to what OPTION's value is under PATH (OPTION
# empty: the positional arguments): file, dir, providers, models, "choices ...",
# or empty for free text.
_rfctl_kind() {{
    case "$1|$2" in
{kinds}
    *)
        kind='' ;;
    esac
}}

# _rfctl_words: set words and cword from COMP_WORDS, gluing back what bash split
# at ":" (COMP_WORDBREAKS), so that model names like qwen3:8b stay one word.
_rfctl_words() {{
    local i w rest gap pos=0
    words=() cword=0
    for ((i = 0; i < ${{#COMP_WORDS[@]}}; i++)); do
        w=${{COMP_WORDS[i]}}
        rest=${{COMP_LINE:pos}}
        gap=${{rest%%[![:space:]]*}}
        pos=$((pos + ${{#gap}} + ${{#w}}))
        if ((i > 0 && ${{#gap}} == 0)) && [[ $w == : || ${{words[-1]}} == *: ]]; then
            words[-1]+=$w
        else
            words+=("$w")
        fi
        ((i == COMP_CWORD)) && cword=$((${{#words[@]}} - 1))
    done
}}

# _rfctl_dequote WORD: set REPLY to WORD as the command will see it, for the
# plain cases (one pair of quotes, backslash escapes); the rest stays as typed.
_rfctl_dequote() {{
    REPLY=$1
    case $REPLY in
    \'*\' | \"*\") REPLY=${{REPLY:1:${{#REPLY}}-2}} ;;
    *\\*) REPLY=${{REPLY//\\/}} ;;
    esac
}}

# _rfctl_values KIND: set COMPREPLY to the values of KIND that start with $cur.
_rfctl_values() {{
    local names IFS=$' \t\n'
    case $1 in
    file | dir)
        compopt -o filenames 2>/dev/null
        IFS=$'\n'
        if [[ $1 == dir ]]; then
            COMPREPLY=($(compgen -d -- "$cur"))
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return ;;
{lookups}
    choices\ *) names=${{1#choices }} ;;
    *) names='' ;;
    esac
    COMPREPLY=($(compgen -W "$names" -- "$cur"))
}}

_rfctl() {{
    local -a words pass=()
    local REPLY cword cur path='' opt='' eq='' word subs opts valued kind i=1
    _rfctl_words
    cur=${{words[cword]}}
    # Walk the words before the cursor: follow subcommands, skip option values,
    # and note the option whose value is being completed, if any.
    while ((i < cword)); do
        word=${{words[i]}}
        _rfctl_spec "$path"
        case $word in
        -*=*)
            case ${{word%%=*}} in {pass_through}) _rfctl_dequote "$word" && pass+=("$REPLY") ;; esac ;;
        -*)
            if [[ " $valued " == *" $word "* ]]; then
                # bash splits --opt=value at "=": skip the "=" as well.
                [[ ${{words[i+1]}} == = ]] && ((i + 1 < cword)) && ((i++))
                if ((i + 1 == cword)); then
                    opt=$word
                else
                    case $word in {pass_through})
                        _rfctl_dequote "${{words[i+1]}}" && pass+=("$word" "$REPLY") ;;
                    esac
                fi
                ((i++))
            fi ;;
        *)
            [[ " $subs " == *" $word "* ]] && path=${{path:+$path }}$word ;;
        esac
        ((i++))
    done
    [[ $cur == = && -n $opt ]] && cur=''
    _rfctl_spec "$path"
    if [[ -z $opt && $cur == -*=* && " $valued " == *" ${{cur%%=*}} "* ]]; then
        # --opt=value as one word (COMP_WORDBREAKS without "="): complete the value.
        opt=${{cur%%=*}}
        cur=${{cur#*=}}
        eq=$opt=
    fi
    COMPREPLY=()
    if [[ -n $opt ]]; then
        _rfctl_kind "$path" "$opt"
        _rfctl_values "$kind"
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ -n $subs ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    else
        _rfctl_kind "$path" ''
        _rfctl_values "$kind"
    fi
    [[ -n $eq ]] && COMPREPLY=("${{COMPREPLY[@]/#/$eq}}")
    # bash replaces only the text after the last ":"; drop what comes before it.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local colon=${{cur%"${{cur##*:}}"}}
        COMPREPLY=("${{COMPREPLY[@]#"$colon"}}")
    fi
}}

complete -F _rfctl rfctl
"""


# ---------------------------------------------------------------- zsh


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
        specs.append(_sh_quote(spec))
    return specs


def _zsh_positional_specs(p: Positional) -> list[str]:
    action = _zsh_action(p.metavar, p.values, p.choices)
    if p.nargs in ("*", argparse.REMAINDER):
        return [_sh_quote("*:" + action)]
    if p.nargs == "?":
        return [_sh_quote("::" + action)]
    if p.nargs == "+":
        return [_sh_quote(":" + action), _sh_quote("*:" + action)]
    return [_sh_quote(":" + action)] * (p.nargs if isinstance(p.nargs, int) else 1)


def _zsh_function(cmd: Command) -> str:
    specs = [s for o in cmd.options for s in _zsh_option_specs(o)]
    body = []
    if cmd.subcommands:
        specs += ["': :->command'", "'*:: :->argument'"]
        described = "\n".join(
            f"        {_sh_quote(c.path[-1].replace(':', chr(92) + ':') + ':' + c.help)}"
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
            f"      _describe -t commands {_sh_quote(cmd.name + ' command')} commands && ret=0 ;;\n"
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


# ---------------------------------------------------------------- fish


def _fish_quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_fish(root: Command) -> str:
    subs, valued, lines = [], [], []
    for cmd in root.walk():
        key = " ".join(cmd.path)
        cond = "-n " + _fish_quote('__rfctl_at "' + key + '"')
        if cmd.subcommands:
            names = " ".join(c.path[-1] for c in cmd.subcommands)
            subs.append(f"        case {_fish_quote(key)}\n            printf '%s\\n' {names}")
        flags = [f for o in cmd.options if o.takes_value for f in o.flags]
        if flags:
            valued.append(
                f"        case {_fish_quote(key)}\n            printf '%s\\n' " + " ".join(flags)
            )
        if cmd.path:
            lines.append(f"\n# {cmd.name}")
        for c in cmd.subcommands:
            lines.append(
                f"complete -c rfctl {cond} -a {_fish_quote(c.path[-1])} -d {_fish_quote(c.help)}"
            )
        for o in cmd.options:
            parts = ["complete -c rfctl", cond]
            for f in o.flags:
                if f.startswith("--"):
                    parts.append(f"-l {f[2:]}")
                elif len(f) == 2:
                    parts.append(f"-s {f[1:]}")
                else:
                    parts.append(f"-o {f[1:]}")
            if o.takes_value:
                parts.append(_fish_values(o.values, o.choices, option=True))
            parts.append(f"-d {_fish_quote(o.help)}")
            lines.append(" ".join(parts))
        if cmd.positionals and not cmd.subcommands:
            p = cmd.positionals[0]
            v = _fish_values(p.values, p.choices, option=False)
            if v:
                lines.append(f"complete -c rfctl {cond} {v}")
    return _FISH.format(
        generated=GENERATED,
        subs="\n".join(subs),
        valued="\n".join(valued),
        lines="\n".join(lines),
        lookups="\n".join(
            f"        case {name}\n            $tokens[1] $pass {' '.join(argv)} 2>/dev/null"
            for name, argv in LOOKUPS.items()
        ),
        pass_through=" ".join(PASS_THROUGH),
        pass_through_eq=" ".join(_fish_quote(f + "=*") for f in PASS_THROUGH),
    )


def _fish_values(values: str | None, choices: list[str], option: bool) -> str:
    # -r: the option takes a value; -x: ... and only the ones given (no files);
    # -F: files after all (the script starts with `complete -c rfctl -f`).
    if choices:
        return ("-x " if option else "") + "-a " + _fish_quote(" ".join(choices))
    if values == "file":
        return "-r -F" if option else "-F"
    if values == "dir":
        return ("-x " if option else "") + "-a '(__fish_complete_directories)'"
    if values in LOOKUPS:
        return ("-x " if option else "") + f"-a '(__rfctl_names {values})'"
    return "-x" if option else ""


_FISH = r"""# fish completion for rfctl
# {generated}
#
# Enable it by putting this file, named rfctl.fish, in ~/.config/fish/completions/,
# or with `rfctl completions fish | source`.

# The subcommands and the options taking a value, of the command path $argv[1].
function __rfctl_subs
    switch $argv[1]
{subs}
    end
end

function __rfctl_valued
    switch $argv[1]
{valued}
    end
end

# The command path on the line so far ("" for rfctl itself, "config init", ...).
function __rfctl_path
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path
    while set -q tokens[1]
        set -l tok $tokens[1]
        set -e tokens[1]
        switch $tok
            case '-*=*'
            case '-*'
                if contains -- $tok (__rfctl_valued "$path")
                    set -e tokens[1]
                end
            case '*'
                if contains -- $tok (__rfctl_subs "$path")
                    set path $path $tok
                end
        end
    end
    echo "$path"
end

function __rfctl_at
    set -l path (__rfctl_path)
    test "$path" = "$argv[1]"
end

# Provider or model names, from the files the command line names.
function __rfctl_names
    set -l tokens (commandline -opc)
    set -l pass
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case {pass_through}
                set -a pass $tokens[$i] $tokens[(math $i + 1)]
            case {pass_through_eq}
                set -a pass $tokens[$i]
        end
    end
    switch $argv[1]
{lookups}
    end
end

complete -c rfctl -f
{lines}
"""


# ---------------------------------------------------------------- files

RENDERERS = {"bash": render_bash, "zsh": render_zsh, "fish": render_fish}
# Where each generated file lives in the repository.
FILES = {
    "bash": "completions/rfctl.bash",
    "zsh": "completions/_rfctl",
    "fish": "completions/rfctl.fish",
    "man": "man/rfctl.1",
}


def script(shell: str, root: Command | None = None) -> str:
    return RENDERERS[shell](root or tree())


def generated_files() -> dict[str, str]:
    """Repository path -> content, for every generated file."""
    from rfctl import manpage

    root = tree()
    out = {FILES[shell]: script(shell, root) for shell in SHELLS}
    out[FILES["man"]] = manpage.render(root)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m rfctl.completion",
        description="Regenerate (or check) the completion scripts and the man page.",
    )
    ap.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the repository checkout (default: the one this module is in)",
    )
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write the files")
    mode.add_argument(
        "--check",
        action="store_true",
        help="exit 1 and name the files that are not what the parser generates",
    )
    args = ap.parse_args(argv)
    if not (args.root / "pyproject.toml").is_file():
        ap.error(f"{args.root} is not an rfctl checkout (no pyproject.toml)")
    stale = []
    for rel, text in generated_files().items():
        path = args.root / rel
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(rel)
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {rel}")
    if args.check and stale:
        print(
            "stale (run `python -m rfctl.completion --write`): " + ", ".join(stale), file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
