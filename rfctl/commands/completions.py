"""rfctl completions bash|zsh|fish: print a shell completion script."""

from __future__ import annotations

import argparse
import sys

from rfctl.completion import SHELLS

HELP = "print the shell completion script for bash, zsh or fish"

DESCRIPTION = """\
Print the completion script for SHELL on stdout. The scripts complete commands,
options, option values with fixed choices, file names, and the names of
configured providers and known models. To enable them:

  bash:  source <(rfctl completions bash)         # in ~/.bashrc
  zsh:   source <(rfctl completions zsh)          # in ~/.zshrc, after compinit
  fish:  rfctl completions fish > ~/.config/fish/completions/rfctl.fish

A pip install also puts them where bash-completion, zsh and fish look when the
prefix is a standard one (share/bash-completion, share/zsh/site-functions,
share/fish/vendor_completions.d)."""


def add_parser(sub, parents):
    p = sub.add_parser(
        "completions",
        parents=parents,
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", nargs="?", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    # For the scripts themselves: the configured provider names, one per line,
    # read from the config alone (no network), so that completing `-p` is fast.
    p.add_argument("--list", choices=("providers",), help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def run(args) -> int:
    if args.list == "providers":
        from rfctl import config

        cfg = config.load(config.resolve_paths(args))
        sys.stdout.write("".join(f"{name}\n" for name in cfg.providers))
        return 0
    if args.shell is None:
        from rfctl.errors import UsageError

        raise UsageError("which shell? rfctl completions bash|zsh|fish")
    from rfctl.completion import script

    sys.stdout.write(script(args.shell))
    return 0
