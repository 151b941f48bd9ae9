"""man/rfctl.1: what the parser generates, clean for mandoc and man, and
complete: every option of every command, every exit status, every variable."""

from __future__ import annotations

import argparse
import os
import re
import subprocess

import pytest
from completion_helpers import parsers, visible_options
from conftest import REPO, require_tool

from rfctl.commands.completions import tree
from rfctl.commands.parser import build_parser
from rfctl.config import KINDS
from rfctl.docs import man
from rfctl.errors import Exit

PAGE = REPO / "man" / "rfctl.1"


def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def sections(text: str, macro: str) -> dict[str, str]:
    """Section title -> body, for .SH (macro="SH") or .SS ("SS") headings."""
    parts = re.split(rf'^\.{macro} "?([^"\n]*)"?$', text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def documented_options(body: str) -> set[str]:
    """The option names in the .TP tags of a piece of the page."""
    tags = re.findall(r"^\.TP\n(.*)$", body, flags=re.M)
    return {
        flag.replace("\\-", "-")
        for tag in tags
        for flag in re.findall(r"\\fB(\\-[^\\ ]*(?:\\-[^\\ ]*)*)\\fR", tag)
    }


def test_committed_page_is_what_the_parser_generates():
    assert page() == man.render(tree()), (
        "man/rfctl.1 is stale: run `python -m rfctl.commands.completions --write`"
    )


def test_mandoc_lint_reports_nothing():
    mandoc = require_tool("mandoc")
    proc = subprocess.run([mandoc, "-Tlint", str(PAGE)], capture_output=True, text=True)
    assert proc.stdout + proc.stderr == ""
    assert proc.returncode == 0


def test_man_renders_the_page():
    man = require_tool("man")
    env = {**os.environ, "MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80", "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(
        [man, "-l", str(PAGE)], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    text = proc.stdout
    assert text.startswith("RFCTL(1)")
    for heading in (
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ):
        assert re.search(rf"^{heading}$", text, flags=re.M), heading
    # No hyphenation: options stay whole in the rendered text (and greppable).
    assert "--max-tokens" in text and "--textfile" in text


def test_every_option_of_every_command_is_in_the_page():
    text = page()
    common = documented_options(sections(text, "SH")["OPTIONS"])
    commands = sections(sections(text, "SH")["COMMANDS"], "SS")
    root = build_parser()
    assert common == visible_options(root)
    for path, parser in parsers(root):
        if not path:
            continue
        name = " ".join(("rfctl", *path))
        assert name in commands, f"no section for {name}"
        own = documented_options(commands[name])
        # Nothing missing, nothing stale, hidden options left out.
        assert own | common >= visible_options(parser), name
        assert own <= visible_options(parser), name


def test_every_command_is_in_the_synopsis():
    synopsis = sections(page(), "SH")["SYNOPSIS"]
    for path, parser in parsers():
        has_subcommands = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        if path and not has_subcommands:
            assert f".B rfctl {' '.join(path)}\n" in synopsis


def test_exit_status_lists_every_code_and_probes_codes():
    body = sections(page(), "SH")["EXIT STATUS"]
    listed = re.findall(r"^\.B (\d+)$", body, flags=re.M)
    general, probe = listed[: listed.index("130") + 1], listed[listed.index("130") + 1 :]
    assert {int(code) for code in Exit} == {int(c) for c in general}
    assert probe == ["0", "1", "2", "3"]
    assert "Cannot write the \\fB\\-o\\fR output file" in body


def test_environment_names_every_variable_rfctl_reads():
    body = sections(page(), "SH")["ENVIRONMENT"]
    documented = set(re.findall(r"^\.B ([A-Z_]+)$", body, flags=re.M))
    read = set()
    for path in (REPO / "rfctl").rglob("*.py"):
        read |= set(
            re.findall(
                r"\b(RFCTL_[A-Z_]+|XDG_[A-Z]+_HOME|OLLAMA_HOST|NO_COLOR)\b", path.read_text()
            )
        )
    read |= {env for _url, env in KINDS.values() if env}
    assert read <= documented


@pytest.mark.parametrize(
    "needle",
    [
        "| rfctl generate",  # a pipe
        "*/5 * * * * rfctl probe",  # cron
        "jq \\-r",  # jq on the log
        "summary.md: notes.md\n\trfctl generate",  # a Makefile rule
    ],
)
def test_examples_cover_pipes_cron_jq_and_make(needle):
    assert needle in sections(page(), "SH")["EXAMPLES"]
