"""man/rfctl.1, rendered from the command tree plus a hand-written template.

The template (man/rfctl.1.in) holds the prose that argparse does not know:
DESCRIPTION, EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES, SEE ALSO. This module
fills in what the parser does know, with its @PLACEHOLDERS@: the synopsis, the
common options, and every command with every option.
"""

from __future__ import annotations

import itertools
import re
import textwrap
from pathlib import Path

from rfctl.docs.tree import REGENERATE, Command, Option, Positional

# In the source checkout; the page is generated there and shipped as a file.
TEMPLATE = Path(__file__).resolve().parents[2] / "man" / "rfctl.1.in"


def render(root: Command, template: str | None = None) -> str:
    from rfctl import __version__

    if template is None:
        template = TEMPLATE.read_text(encoding="utf-8")
    common = {_key(o) for o in root.options}
    fill = {
        "@VERSION@": __version__,
        "@SYNOPSIS@": _synopsis(root),
        "@OPTIONS@": "\n".join(_option(o) for o in root.options),
        "@COMMANDS@": "\n".join(_command(c, common) for c in root.walk() if c.path),
        "@KEY_ENVIRONMENT@": _key_environment(),
    }
    # The template's own header comment is about the template; say what the output is.
    lines = template.splitlines(keepends=True)
    while lines and lines[0].startswith('.\\"'):
        lines.pop(0)
    text = (
        ".\\\" Generated from man/rfctl.1.in and rfctl's argument parser by\n"
        f'.\\" `{REGENERATE}`; do not edit.\n' + "".join(lines)
    )
    for mark, value in fill.items():
        text = text.replace(mark, value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError(f"unknown placeholders in {TEMPLATE.name}: {', '.join(left)}")
    return text


def _key(o: Option) -> tuple:
    # A subcommand's option is a common one (documented once, under OPTIONS)
    # when rfctl itself has the same option with the same help.
    return tuple(o.flags), o.help


# ---------------------------------------------------------------- roff


def roff(text: str) -> str:
    """Plain text as roff text lines: escapes, and wrapped for readable source."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    # `code` in help and descriptions: bold.
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    lines = textwrap.wrap(text, 78, break_long_words=False, break_on_hyphens=False)
    return "\n".join(_line(line) for line in lines)


def _line(line: str) -> str:
    # A text line starting with . or ' would be read as a request.
    return "\\&" + line if line[:1] in (".", "'") else line


def _literal(text: str) -> str:
    """Text kept as it is laid out (no filling)."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    return "\n".join(_line(line) for line in text.splitlines())


def _paragraphs(description: str) -> str:
    """A parser description as roff: paragraphs at blank lines, filled, except
    runs of indented lines (examples, tables), which keep their layout."""
    out = []
    for para in re.split(r"\n\s*\n", description.strip()):
        out.append(".PP")
        for indented, run in itertools.groupby(para.splitlines(), _indented):
            lines = list(run)
            if indented:
                out.append(".RS 4\n.nf\n" + _literal(textwrap.dedent("\n".join(lines))))
                out.append(".fi\n.RE")
            else:
                out.append(roff(" ".join(line.strip() for line in lines)))
    return "\n".join(out)


def _indented(line: str) -> bool:
    return line.startswith((" ", "\t"))


def _sentence(text: str) -> str:
    # Help strings are fragments ("bound on one attempt"); the page wants full
    # stops but keeps the author's case ("tsv: leave out the header line").
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def _bold(flag: str) -> str:
    return "\\fB" + flag.replace("-", "\\-") + "\\fR"


def _value(metavar: str, choices: list[str]) -> str:
    if choices:
        return "|".join(_bold(c) for c in choices)
    return "\\fI" + metavar.replace("-", "\\-") + "\\fR"


def _option(o: Option) -> str:
    head = ", ".join(_bold(f) for f in o.flags)
    if o.takes_value:
        head += " " + _value(o.metavar, o.choices)
    help = _sentence(o.help)
    if o.repeatable and "repeat" not in help.lower():
        help += " Repeatable."
    return f".TP\n{head}\n{roff(help)}"


def _positional(p: Positional) -> str:
    return f".TP\n{_usage(p)}\n{roff(_sentence(p.help))}"


def _usage(p: Positional) -> str:
    name = _value(p.metavar, p.choices)
    if p.nargs == "?":
        return f"[{name}]"
    if p.nargs == "*":
        return f"[{name} ...]"
    if p.nargs == "+":
        return f"{name} [{name} ...]"
    return name


def _command_line(cmd: Command) -> str:
    parts = [f".B {cmd.name}"]
    rest = []
    if cmd.options:
        rest.append("[\\fIoptions\\fR]")
    if cmd.subcommands:
        rest.append("|".join(_bold(c.path[-1]) for c in cmd.subcommands))
        rest.append("...")
    else:
        rest += [_usage(p) for p in cmd.positionals]
    if rest:
        parts.append(" ".join(rest))
    return "\n".join(parts)


def _synopsis(root: Command) -> str:
    lines = [
        ".B rfctl\n[\\fIoptions\\fR] \\fICOMMAND\\fR [\\fIcommand options\\fR] [\\fIarguments\\fR]"
    ]
    lines += [_command_line(c) for c in root.walk() if c.path and not c.subcommands]
    return "\n.br\n".join(lines)


def _command(cmd: Command, common: set) -> str:
    out = [f'.SS "{cmd.name}"', _command_line(cmd), _paragraphs(cmd.description)]
    if cmd.subcommands:
        out.append(".PP\nActions:")
        out += [f".TP\n{_bold(c.path[-1])}\n{roff(_sentence(c.help))}" for c in cmd.subcommands]
    positionals = [p for p in cmd.positionals if p.help]
    if positionals and not cmd.subcommands:
        out.append(".PP\nArguments:")
        out += [_positional(p) for p in positionals]
    own = [o for o in cmd.options if _key(o) not in common]
    if own:
        out.append(".PP\nOptions:")
        out += [_option(o) for o in own]
    out.append(".PP\nThe common options (see \\fBOPTIONS\\fR) are accepted here too.")
    return "\n".join(out)


def _key_environment() -> str:
    from rfctl.config import KINDS

    by_var: dict[str, list[str]] = {}
    for kind, (_url, var) in KINDS.items():
        if var:
            by_var.setdefault(var, []).append(kind)
    return "\n".join(
        f".TP\n.B {var}\n"
        + roff(
            f"The API key of providers of kind {', '.join(kinds)}"
            " when their config names no other `api_key_env`."
        )
        for var, kinds in by_var.items()
    )
