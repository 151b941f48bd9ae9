"""Shell completion scripts and the man page, generated from the argument parser.

The parser is the single source of truth: `tree.walk(parser)` turns it into a
small tree of commands and options, and one renderer per output (bash, zsh,
fish, man) turns that tree into text. This package takes the parser (or its
tree) as input and imports nothing from rfctl.commands or rfctl.cli, so that
only the two callers pay for it: `rfctl completions SHELL`, and the script that
rewrites the committed copies (completions/ and man/rfctl.1, shipped in the
wheel), `python -m rfctl.commands.completions --write` (`--check` fails while
one is stale).
"""

from __future__ import annotations

from rfctl.docs import bash, fish, man, zsh
from rfctl.docs.tree import Command

RENDERERS = {"bash": bash.render_bash, "zsh": zsh.render_zsh, "fish": fish.render_fish}
# Where each generated file lives in the repository.
FILES = {
    "bash": "completions/rfctl.bash",
    "zsh": "completions/_rfctl",
    "fish": "completions/rfctl.fish",
    "man": "man/rfctl.1",
}


def script(shell: str, root: Command) -> str:
    """The completion script for `shell` (bash, zsh or fish)."""
    return RENDERERS[shell](root)


def generated_files(root: Command) -> dict[str, str]:
    """Repository path -> content, for every generated file."""
    out = {FILES[shell]: script(shell, root) for shell in RENDERERS}
    out[FILES["man"]] = man.render(root)
    return out
