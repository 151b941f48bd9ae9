"""rfctl completions bash|zsh|fish: print a shell completion script.

Also the script that rewrites the generated files committed to the repository
(completions/ and man/rfctl.1, which the wheel ships) after an option changed:

    python -m rfctl.commands.completions --write    # or --check: exit 1 while one is stale

The generator (rfctl.docs) is imported only by these two; it is given the
parser, and knows nothing of the commands.
"""

from __future__ import annotations

import argparse
import sys

from rfctl.config import SHELLS

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
    from rfctl.commands.parser import command_parser

    p = command_parser(sub, "completions", parents, HELP, DESCRIPTION)
    p.add_argument("shell", nargs="?", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    # For the scripts themselves: the configured provider names or the saved
    # template names, one per line, from local files alone (no network), so
    # that completing `-p` and `-T` is fast.
    p.add_argument("--list", choices=("providers", "templates"), help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def run(args) -> int:
    if args.list == "providers":
        from rfctl import config

        cfg = config.load(config.resolve_paths(args))
        sys.stdout.write("".join(f"{name}\n" for name in cfg.providers))
        return 0
    if args.list == "templates":  # the saved templates' names, from their directory alone
        from rfctl import config, templates

        names = templates.names(config.resolve_paths(args).templates)
        sys.stdout.write("".join(f"{name}\n" for name in names))
        return 0
    if args.shell is None:
        from rfctl.errors import UsageError

        raise UsageError("which shell? rfctl completions bash|zsh|fish")
    from rfctl.docs import script

    sys.stdout.write(script(args.shell, tree()))
    return 0


def tree():
    """rfctl's command tree, from the live parser."""
    from rfctl.commands.parser import build_parser
    from rfctl.docs.tree import walk

    return walk(build_parser())


# ---------------------------------------------------------------- regeneration


def regenerate(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from rfctl.docs import generated_files
    from rfctl.docs.tree import REGENERATE

    ap = argparse.ArgumentParser(
        prog="python -m rfctl.commands.completions",
        description="Regenerate (or check) the completion scripts and the man page.",
    )
    ap.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parents[2],
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
    for rel, text in generated_files(tree()).items():
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
        print(f"stale (run `{REGENERATE}`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(regenerate())
