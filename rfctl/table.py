"""Output for listing commands (providers, models, ...): one set of rows, four shapes.
print_table is the one terminal-table renderer (`rfctl usage` draws its own
table with it, a total row included).

  table   a rich table, for people: only when stdout is a terminal (the default there)
  tsv     tab-separated with a header line, for cut/awk/sort (the default into pipes)
  json    one JSON array of objects
  jsonl   one JSON object per line

Rows are plain dicts with raw values (numbers, booleans, lists, None); columns
say which keys the table and TSV show and in what order, which is stable. JSON
carries every key of every row. rich is imported only to draw a terminal
table, so piped and JSON output stay cheap; colour is off when NO_COLOR is set.
"""

from __future__ import annotations

import os
import sys

FORMATS = ("table", "tsv", "json", "jsonl")
WRAP_MIN = 20  # narrowest a wrapping column gets in a terminal table


class Column:
    """One column of the table and TSV. A plain class, not a dataclass: this
    module is imported to build every command's parser, so it stays cheap."""

    def __init__(self, key: str, title: str, human=None, right: bool = False, wrap: bool = False):
        self.key = key
        self.title = title
        self.human = human  # value -> cell text in the terminal table
        self.right = right  # numbers: right-aligned in the terminal table
        self.wrap = wrap  # long free text may wrap in the terminal table; others never do


def add_format_options(parser, *, jsonl: bool = True) -> None:
    """--format, and --json/--jsonl as its shorthands."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument(
        "--format",
        choices=FORMATS if jsonl else FORMATS[:3],
        default=None,
        help="output shape (default: table on a terminal, tsv otherwise)",
    )
    g.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="one JSON array (same as --format json)",
    )
    if jsonl:
        g.add_argument(
            "--jsonl",
            dest="format",
            action="store_const",
            const="jsonl",
            help="one JSON object per line (same as --format jsonl)",
        )
    parser.add_argument("--no-header", action="store_true", help="tsv: leave out the header line")


def choose_format(requested: str | None, stream=None) -> str:
    if requested:
        return requested
    stream = stream or sys.stdout
    try:
        return "table" if stream.isatty() else "tsv"
    except (AttributeError, ValueError):
        return "tsv"


def emit(
    rows: list[dict],
    columns: list[Column],
    fmt: str | None = None,
    *,
    header: bool = True,
    stream=None,
    title: str | None = None,
) -> None:
    import json

    stream = stream or sys.stdout
    fmt = choose_format(fmt, stream)
    if fmt == "json":
        stream.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "tsv":
        if header:
            stream.write("\t".join(c.key for c in columns) + "\n")
        for row in rows:
            stream.write("\t".join(tsv_cell(row.get(c.key)) for c in columns) + "\n")
    elif fmt == "table":
        print_table(rows, columns, stream, title=title)
    else:  # pragma: no cover - argparse restricts the choices
        raise ValueError(f"unknown format {fmt!r}")
    stream.flush()


def tsv_cell(value) -> str:
    """A raw value as one TSV field: never a tab or newline inside."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return text or "0"
    if isinstance(value, list | tuple):
        return ",".join(tsv_cell(v) for v in value) or "-"
    text = str(value)
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ") or "-"


def human_tokens(value) -> str:
    """128000 -> 128K, 131072 -> 128K, 1047576 -> 1.05M, 1000000 -> 1M."""
    if value is None:
        return "-"
    if value >= 1_000_000:
        m = value / 1_000_000
        return f"{m:.2f}".rstrip("0").rstrip(".") + "M"
    if value >= 1000:
        # Windows are round in decimal (128000) or in binary (131072 = 128Ki).
        k = value / 1024 if value % 1000 and value % 1024 == 0 else value / 1000
        return f"{k:.1f}".rstrip("0").rstrip(".") + "K"
    return str(value)


def print_table(
    rows: list[dict],
    columns: list[Column],
    stream=None,
    *,
    title: str | None = None,
    footer: dict | None = None,
) -> None:
    """Draw rows as a rich table on stream (default stdout). footer: a row of
    raw values (a total, say) drawn under a rule; keys it lacks are blank."""
    from rich.table import Table
    from rich.text import Text

    stream = stream or sys.stdout

    def cells(row: dict) -> list[str]:
        return [c.human(row.get(c.key)) if c.human else tsv_cell(row.get(c.key)) for c in columns]

    texts = [cells(row) for row in rows]
    foot = None
    if footer is not None:
        foot = [t if c.key in footer else "" for c, t in zip(columns, cells(footer), strict=True)]
    table = Table(
        box=_simple_head_and_foot(),
        title=title,
        show_edge=False,
        pad_edge=False,
        show_footer=foot is not None,
    )
    need = 3 * (len(columns) - 1)  # the box puts three spaces between columns
    for i, c in enumerate(columns):
        # Short columns keep their full width and long free text (URLs,
        # details) wraps, but never below WRAP_MIN: rich would otherwise
        # squeeze cells to "…" or drop whole columns on a narrow terminal.
        widest = max([len(c.title), *(len(t[i]) for t in texts), len(foot[i]) if foot else 0])
        least = min(widest, WRAP_MIN) if c.wrap else widest
        need += least
        # Text, not str, everywhere: a "[redacted]" or "[bold]" in a value is
        # data, not rich markup.
        table.add_column(
            Text(c.title),
            footer=Text(foot[i] if foot else ""),
            justify="right" if c.right else "left",
            no_wrap=not c.wrap,
            min_width=least,
            overflow="fold",
        )
    for row in texts:
        table.add_row(*(Text(t) for t in row))
    # Lines run long (the terminal wraps them, `less -S` scrolls) rather than
    # lose columns.
    _console(stream, need).print(table)


def _console(stream, need: int):
    from rich.console import Console

    # NO_COLOR: no escape sequences at all. (rich's own no_color drops colour
    # but still prints bold headers.)
    plain = {"color_system": None} if os.environ.get("NO_COLOR") else {}
    console = Console(file=stream, highlight=False, soft_wrap=False, **plain)
    if need > console.width:
        console = Console(file=stream, highlight=False, soft_wrap=False, width=need, **plain)
    return console


def _simple_head_and_foot():
    from rich import box

    # rich's SIMPLE_HEAD with a rule above the footer too (its own leaves a blank line).
    return box.Box("    \n    \n ── \n    \n    \n ── \n    \n    \n")
