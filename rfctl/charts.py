"""Pictures for the terminal: bars in a table and latency histograms.

Pure text, built with eighth-block characters so a bar's length is exact to
an eighth of a cell, and drawn the same with and without colour (NO_COLOR
gets the same blocks, no escape sequences). Only `rfctl usage` on a terminal
imports this (rich with it); pipes get numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rfctl.usage_stats import Sketch

_EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"
BAR_STYLE = "cyan"
MARK_STYLE = "bold magenta"


def bar_text(fraction: float, width: int) -> str:
    """A bar of fraction (0..1) of width cells; any non-zero value shows at
    least an eighth, so a small period never looks like an empty one."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    if fraction > 0 and eighths == 0:
        eighths = 1
    full, rest = divmod(eighths, 8)
    return (FULL * full + (_EIGHTHS[rest] if rest else "")).ljust(width)[:width]


def bar(fraction: float, width: int):
    """bar_text as a rich Text in the bar colour."""
    from rich.text import Text

    return Text(bar_text(fraction, width), style=BAR_STYLE)


# ---------------------------------------------------------------- latency buckets

# Histogram bounds: a log-spaced series of round numbers in ms (1, 1.5, 2, 3,
# 5, 7, 10, 15, ...), six a decade; a wide spread is drawn with 1, 2, 5 only.
FINE = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
COARSE = (1.0, 2.0, 5.0)
MAX_ROWS = 16  # more fine buckets than this: draw the coarse ones


@dataclass
class Bucket:
    low_ms: float  # inclusive
    high_ms: float  # exclusive
    count: int


def _bounds(series: tuple[float, ...], low: float, high: float) -> list[float]:
    """The series' bounds from the one at or below low to the first above high."""
    exp = math.floor(math.log10(low)) if low > 0 else 0
    out: list[float] = []
    while True:
        for m in series:
            b = round(m * 10**exp, 6)
            if out and out[-1] > high:
                return out
            if b <= low:
                out = [b]
            else:
                out.append(b)
        exp += 1


def buckets(counts: dict[int, int], series: tuple[float, ...] = FINE) -> list[Bucket]:
    """A latency sketch's counts (usage_stats.Sketch) in round-number buckets,
    from the lowest to the highest one holding a value, empty ones between
    included. A value lands in the bucket of its sketch point, which is
    within 1% of the value itself."""
    values = sorted((Sketch.value(i), n) for i, n in counts.items() if n)
    if not values:
        return []
    low = max(values[0][0], 1.0)
    bounds = _bounds(series, low, values[-1][0])
    if values[0][0] < bounds[0]:  # under 1 ms (or 0): a first bucket from 0
        bounds.insert(0, 0.0)
    out = [Bucket(a, b, 0) for a, b in zip(bounds, bounds[1:], strict=False)]
    from bisect import bisect_right

    for value, n in values:
        out[min(bisect_right(bounds, value) - 1, len(out) - 1)].count += n
    while out and not out[-1].count:
        out.pop()
    while out and not out[0].count:
        out.pop(0)
    return out


def picture_buckets(counts: dict[int, int]) -> list[Bucket]:
    """Buckets for a picture: fine ones unless there would be too many rows."""
    fine = buckets(counts, FINE)
    return fine if len(fine) <= MAX_ROWS else buckets(counts, COARSE)


def ms_label(ms: float) -> str:
    """150 -> '150 ms', 1500 -> '1.5 s', 0.5 -> '0.5 ms'."""
    if ms >= 1000:
        return f"{ms / 1000:g} s"
    return f"{ms:g} ms"


def range_label(b: Bucket) -> str:
    """'150–200 ms', '0.7–1 s', '1–1.5 s' (the upper bound's unit)."""
    if b.high_ms >= 1000:
        return f"{b.low_ms / 1000:g}–{b.high_ms / 1000:g} s"
    return f"{b.low_ms:g}–{b.high_ms:g} ms"


# ---------------------------------------------------------------- histogram picture

INDENT = 2
BAR_MIN = 8
BAR_MAX = 50


def histogram_lines(title: str, counts: dict[int, int], width: int, noun: str = "attempts") -> list:
    """One group's latency histogram as rich Text lines, at most width cells:
    a heading with the count and p50/p95, then one row per bucket (range,
    bar, count) with the p50 and p95 buckets marked."""
    from rich.text import Text

    n = sum(counts.values())
    p50 = Sketch.quantile(counts, 0.5)
    p95 = Sketch.quantile(counts, 0.95)
    head = Text()
    head.append(title, style="bold")
    if not n:
        head.append("  no latencies recorded")
        return [_cut(head, width)]
    head.append(f"  {n:,} {noun}  ")
    head.append(f"p50 {_ms(p50)}", style=MARK_STYLE)
    head.append("  ")
    head.append(f"p95 {_ms(p95)}", style=MARK_STYLE)
    rows = picture_buckets(counts)
    labels = [range_label(b) for b in rows]
    numbers = [f"{b.count:,}" for b in rows]
    marks = [_marks(b, p50, p95, i == len(rows) - 1) for i, b in enumerate(rows)]
    label_w = max(map(len, labels))
    count_w = max(map(len, numbers))
    mark_w = max(map(len, marks))
    room = width - INDENT - label_w - 2 - 2 - count_w - (mark_w + 2 if mark_w else 0)
    bar_w = max(BAR_MIN, min(BAR_MAX, room))
    top = max(b.count for b in rows)
    lines = [_cut(head, width)]
    for b, label, number, mark in zip(rows, labels, numbers, marks, strict=True):
        line = Text(" " * INDENT + label.rjust(label_w) + "  ")
        line.append_text(bar(b.count / top, bar_w))
        line.append("  " + number.rjust(count_w))
        if mark:
            line.append("  " + mark, style=MARK_STYLE)
        lines.append(_cut(line, width))
    return lines


def _marks(b: Bucket, p50, p95, last: bool) -> str:
    """'◀ p50', '◀ p95', '◀ p50 p95' or '' for the bucket holding them."""

    def inside(v) -> bool:
        return v is not None and b.low_ms <= v and (v < b.high_ms or last)

    names = [name for name, v in (("p50", p50), ("p95", p95)) if inside(v)]
    return "◀ " + " ".join(names) if names else ""


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value / 1000:,.2f} s"
    return f"{value:,.0f} ms"


def _cut(text, width: int):
    text.truncate(width, overflow="ellipsis")
    return text
