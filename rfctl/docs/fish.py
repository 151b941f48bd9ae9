"""The fish completion script, rendered from the command tree."""

from __future__ import annotations

from rfctl.docs.tree import GENERATED, LOOKUPS, PASS_THROUGH, Command


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
