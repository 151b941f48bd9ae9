"""Walk rfctl's parser, and drive real bash, zsh and fish completion on rfctl's
scripts, non-interactively.

Each shell helper takes the command line up to the cursor and returns the words
the shell would offer. The scripts call `rfctl` for provider and model names, so the
tests put a wrapper running this checkout's `python -m rfctl` first on PATH.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import REPO, require_tool

from rfctl.commands.parser import build_parser

SCRIPTS = {
    "bash": REPO / "completions" / "rfctl.bash",
    "zsh": REPO / "completions" / "_rfctl",
    "fish": REPO / "completions" / "rfctl.fish",
}


def parsers(parser=None, path=()):
    """(command path, parser) for rfctl and every command below it."""
    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, (*path, name))


def visible_options(parser) -> set[str]:
    return {s for a in parser._actions if a.help != argparse.SUPPRESS for s in a.option_strings}


def put_rfctl_on_path(bin_dir: Path) -> str:
    """Write an `rfctl` that runs this checkout; return the new PATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "rfctl"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(str(REPO))}${{PYTHONPATH:+:$PYTHONPATH}} "
        f'exec {shlex.quote(sys.executable)} -m rfctl "$@"\n'
    )
    wrapper.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def _run(argv: list[str], cwd: Path | None = None, timeout: float = 30):
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL
    )


# ---------------------------------------------------------------- bash


def bash_complete(
    words: list[str],
    line: str | None = None,
    cwd: Path | None = None,
    wordbreaks: str | None = None,
) -> list[str]:
    """COMPREPLY for the cursor at the end of the last word.

    `words` is COMP_WORDS as bash splits the line (it splits at "=" and ":" too);
    `line` is COMP_LINE when it is not the words joined by spaces. The
    completion function is the one `complete -p rfctl` names, as readline would
    call it.
    """
    bash = require_tool("bash")
    line = " ".join(words) if line is None else line
    script = f"""
source {shlex.quote(str(SCRIPTS["bash"]))}
{"COMP_WORDBREAKS=" + shlex.quote(wordbreaks) if wordbreaks is not None else ""}
spec=$(complete -p rfctl) || exit 3
func=${{spec#*-F }}; func=${{func%% *}}
COMP_WORDS=({" ".join(shlex.quote(w) for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={shlex.quote(line)}
COMP_POINT=${{#COMP_LINE}}
"$func" rfctl "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    proc = _run([bash, "--norc", "--noprofile", "-c", script], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


# ---------------------------------------------------------------- zsh

# A zsh that drives an interactive zsh in a pseudo-terminal (zpty): compinit,
# the line typed, TAB bound to complete-word. compadd is wrapped to print each
# match it adds, and a post-completion hook prints an end marker and exits.
# The markers are built at run time so the terminal's echo of this very code
# cannot be mistaken for output.
_ZSH_CAPTURE = r"""
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PS1='' PROMPT='' RPROMPT='' PROMPT_EOL_MARK=''"
zpty -w z "$1"
zpty -w z 'zstyle ":completion:*" list-grouped false'
zpty -w z 'zstyle ":completion:*" insert-tab false'
zpty -w z 'compadd() {
  if (( ${@[(I)-(O|A|D)]} )); then builtin compadd "$@"; return; fi
  local -a __m; local __k=MAT; __k+=CH
  builtin compadd -A __m "$@"
  local __w; for __w in $__m; do print -r -- "${__k}:$__w"; done
  builtin compadd "$@"
}'
zpty -w z '__capture_done() { local k=DO; print -r -- "${k}NE:"; exit }'
zpty -w z 'comppostfuncs=(__capture_done)'
zpty -w z 'bindkey "^I" complete-word'
zpty -n -w z "$2"$'\t'
local line
while zpty -r z line; do
  [[ $line == *DONE:* ]] && break
  [[ $line == *MATCH:* ]] && print -r -- "${${line##*MATCH:}%%$'\r'*}"
done
zpty -d z
"""


def zsh_setup(how: str) -> str:
    """The commands that load rfctl's completion: from fpath (an installed
    _rfctl) or by sourcing the script after compinit."""
    directory = shlex.quote(str(SCRIPTS["zsh"].parent))
    if how == "fpath":
        return f"fpath=({directory} $fpath); autoload -Uz compinit && compinit -u -D"
    return f"autoload -Uz compinit && compinit -u -D && source {shlex.quote(str(SCRIPTS['zsh']))}"


def zsh_complete(line: str, how: str = "fpath", tmp_path: Path | None = None) -> list[str]:
    zsh = require_tool("zsh")
    proc = _run([zsh, "-f", "-c", _ZSH_CAPTURE, "capture", zsh_setup(how), line], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


# ---------------------------------------------------------------- fish


def fish_complete(line: str, cwd: Path | None = None) -> list[str]:
    """The first column of `complete -C LINE` (the second is the description)."""
    fish = require_tool("fish")
    command = f"source {shlex.quote(str(SCRIPTS['fish']))}; complete -C {shlex.quote(line)}"
    proc = _run([fish, "--no-config", "-c", command], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    return [row.split("\t", 1)[0] for row in proc.stdout.splitlines() if row]
