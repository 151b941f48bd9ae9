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

The terminal table follows kubectl's convention: it shows the columns that
matter and fits the terminal's width. Columns marked `wide` appear only with
--wide; `elastic` ones (long free text: URLs, details, names) are cut with an
ellipsis to make the rest fit. --wide shows every column in full, and its
lines run as long as they need (`less -S` scrolls). TSV and JSON always carry
every column, never cut.
"""

from __future__ import annotations

import os
import sys

FORMATS = ("table", "tsv", "json", "jsonl")
ELASTIC_MIN = 12  # narrowest an elastic column is cut to before others are
CUT_MIN = 3  # narrowest any column is cut to when nothing else helps ("a…")
GAP = 2  # spaces between two columns of the terminal table


class Column:
    """One column of the table and TSV. A plain class, not a dataclass: this
    module is imported to build every command's parser, so it stays cheap."""

    def __init__(
        self,
        key: str,
        title: str,
        human=None,
        right: bool = False,
        elastic: bool = False,
        wide: bool = False,
        min_width: int | None = None,
        bar: bool = False,
    ):
        self.key = key
        self.title = title
        self.human = human  # value -> cell text in the terminal table
        self.right = right  # numbers: right-aligned in the terminal table
        self.elastic = elastic  # long text: cut with "…" to fit the terminal
        self.wide = wide  # shown in the terminal table only with --wide
        self.min_width = min_width  # elastic: cut no narrower than this (default ELASTIC_MIN)
        # A bar: the value is a fraction (0..1) drawn as a bar as wide as the
        # column turns out to be (rfctl.charts); elastic by nature.
        self.bar = bar


def add_format_options(parser, *, jsonl: bool = True) -> None:
    """--format, --json/--jsonl as its shorthands, --no-header and --wide."""
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
        help="JSON: the listing as one document (same as --format json)",
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
    add_wide_option(parser)


def add_wide_option(parser) -> None:
    parser.add_argument(
        "--wide",
        action="store_true",
        help="table: every column, nothing cut (default: the main columns, fitted to the terminal)",
    )


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
    wide: bool = False,
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
        print_table(rows, columns, stream, title=title, wide=wide)
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


# ---------------------------------------------------------------- fitting


def terminal_width(stream=None) -> int:
    """The width a terminal table is fitted to: $COLUMNS when set, else the
    terminal that stdout (or, for `--format table | less`, stderr or stdin)
    is on, else 80."""
    value = os.environ.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    for s in (stream, sys.__stdout__, sys.__stderr__, sys.__stdin__):
        try:
            return os.get_terminal_size(s.fileno()).columns or 80
        except (AttributeError, OSError, ValueError):
            continue
    return 80


def fit_widths(natural: list[int], floors: list[int], room: int) -> list[int]:
    """Column widths that add up to at most room: the widest columns are cut
    first (water-filling), none below its floor. Columns that already fit
    keep their natural width; if even the floors do not fit, the floors."""
    if sum(natural) <= room:
        return list(natural)
    if sum(floors) >= room:
        return list(floors)

    def at(level: int) -> list[int]:
        return [max(f, min(n, level)) for n, f in zip(natural, floors, strict=True)]

    lo, hi = 0, max(natural)  # at(lo) fits (it is the floors), at(hi) does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if sum(at(mid)) <= room:
            lo = mid
        else:
            hi = mid
    widths = at(lo)
    spare = room - sum(widths)
    for i, (n, w) in enumerate(zip(natural, widths, strict=True)):
        if spare and n > w:  # the cut ones share what is left, one cell each
            widths[i] += 1
            spare -= 1
    return widths


def plan_widths(columns: list[Column], natural: list[int], width: int) -> list[int]:
    """Fit the columns of a table into width: cut the elastic columns first
    (to their minimum), then, only if that is not enough, every column."""
    room = width - GAP * (len(columns) - 1)
    widths = fit_widths(natural, _floors(columns, natural), room)
    if sum(widths) > room:
        widths = fit_widths(widths, [min(n, CUT_MIN) for n in widths], room)
    return widths


def _floors(columns: list[Column], natural: list[int]) -> list[int]:
    return [
        min(n, c.min_width or ELASTIC_MIN) if (c.elastic or c.bar) else n
        for c, n in zip(columns, natural, strict=True)
    ]


def fits_without_cutting(columns: list[Column], natural: list[int], width: int) -> bool:
    """Whether cutting the elastic columns alone makes the table fit."""
    return sum(_floors(columns, natural)) + GAP * (len(columns) - 1) <= width


# ---------------------------------------------------------------- drawing

BAR_WIDTH = 40  # a bar column's width when the terminal has room


def print_table(
    rows: list[dict],
    columns: list[Column],
    stream=None,
    *,
    title: str | None = None,
    footer: dict | None = None,
    wide: bool = False,
    width: int | None = None,
) -> None:
    """Draw rows as a rich table on stream (default stdout), fitted to width
    (default: the terminal's) unless wide. footer: a row of raw values (a
    total, say) drawn under a rule; keys it lacks are blank."""
    from rich.table import Table
    from rich.text import Text

    stream = stream or sys.stdout
    width = width or terminal_width(stream)
    if not wide:
        columns = [c for c in columns if not c.wide]
    texts = [_cells(row, columns) for row in rows]
    foot = None
    if footer is not None:
        foot = [
            t if c.key in footer else ""
            for c, t in zip(columns, _cells(footer, columns), strict=True)
        ]
    natural = _natural_widths(columns, texts, foot)
    if (
        not wide
        and any(c.bar for c in columns)
        and not fits_without_cutting(columns, natural, width)
    ):
        # Too narrow for the numbers and a bar: the numbers, whole, matter more.
        keep = [i for i, c in enumerate(columns) if not c.bar]
        columns, natural = [columns[i] for i in keep], [natural[i] for i in keep]
        texts = [[t[i] for i in keep] for t in texts]
        foot = [foot[i] for i in keep] if foot else None
    widths = natural if wide else plan_widths(columns, natural, width)

    table = Table(
        box=_simple_head_and_foot(),
        title=title,
        show_edge=False,
        pad_edge=False,
        padding=(0, GAP - 1, 0, 0),  # with the box's blank divider: GAP spaces
        show_footer=foot is not None,
        collapse_padding=False,
    )

    def cut(text: str, w: int) -> Text:
        # Text, not str, everywhere: a "[redacted]" or "[bold]" in a value is
        # data, not rich markup.
        t = Text(text)
        t.truncate(w, overflow="ellipsis")
        return t

    for i, c in enumerate(columns):
        table.add_column(
            cut(c.title, widths[i]),
            footer=cut(foot[i] if foot else "", widths[i]),
            justify="right" if c.right else "left",
            no_wrap=True,
            overflow="ellipsis",
            width=widths[i],
        )
    for row, text in zip(rows, texts, strict=True):
        table.add_row(
            *(
                _bar(row.get(c.key), w) if c.bar else cut(t, w)
                for c, t, w in zip(columns, text, widths, strict=True)
            )
        )
    need = sum(widths) + GAP * (len(columns) - 1)
    console(stream, max(width, need)).print(table)


def _cells(row: dict, columns: list[Column]) -> list[str]:
    """A row's cell texts (a bar's is drawn later, at its final width)."""
    return [
        "" if c.bar else c.human(row.get(c.key)) if c.human else tsv_cell(row.get(c.key))
        for c in columns
    ]


def _natural_widths(columns: list[Column], texts: list[list[str]], foot) -> list[int]:
    """Each column's width uncut, in terminal cells; a bar's is BAR_WIDTH."""
    from rich.cells import cell_len

    return [
        BAR_WIDTH
        if c.bar
        else max(
            [cell_len(c.title), *(cell_len(t[i]) for t in texts), cell_len(foot[i]) if foot else 0]
        )
        for i, c in enumerate(columns)
    ]


def _bar(value, width: int):
    from rfctl.charts import bar

    return bar(value or 0.0, width)


def console(stream, width: int):
    """A rich Console on stream, width cells wide, with no escape sequences
    at all under NO_COLOR. (rich's own no_color drops colour but still prints
    bold headers.)"""
    from rich.console import Console

    plain = {"color_system": None} if os.environ.get("NO_COLOR") else {}
    return Console(file=stream, highlight=False, soft_wrap=False, width=width, **plain)


def _simple_head_and_foot():
    from rich import box

    # rich's SIMPLE_HEAD with a rule above the footer too (its own leaves a blank line).
    return box.Box("    \n    \n ── \n    \n    \n ── \n    \n    \n")
