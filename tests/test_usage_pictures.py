"""`rfctl usage` as pictures on a terminal: a bar per period (cost, requests
or tokens) beside the numbers, and per provider a latency histogram with p50
and p95 marked. Fitted to the terminal, colourless under NO_COLOR; pipes get
the same plain numbers as ever."""

from __future__ import annotations

import csv
import io
import json

import pytest
from table_helpers import widest
from usage_helpers import make_records, write_log

from rfctl.charts import Bucket, bar_text, buckets, range_label
from rfctl.usage_stats import Sketch

BLOCKS = "█▉▊▋▌▍▎▏"


@pytest.fixture(scope="module")
def records():
    return make_records(3000, seed=7)


@pytest.fixture
def log(tmp_path, records):
    return write_log(tmp_path / "usage.jsonl", records)


def table(rfctl, *args, width=80, env=None):
    run = rfctl("usage", "--format", "table", *args, env={"COLUMNS": str(width), **(env or {})})
    assert run.code == 0, run.err
    return run.out


def bar_length(cell: str) -> float:
    """A drawn bar's length in cells (eighths counted)."""
    eighths = {c: 8 - i for i, c in enumerate(BLOCKS)}
    return sum(eighths.get(c, 0) for c in cell) / 8


# ---------------------------------------------------------------- bars


def test_a_bar_is_exact_to_an_eighth_of_a_cell():
    assert bar_text(1.0, 10) == "█" * 10
    assert bar_text(0.0, 10) == " " * 10
    assert bar_text(0.5, 10) == "█████     "
    assert bar_length(bar_text(0.33, 7)) == pytest.approx(0.33 * 7, abs=1 / 16)
    assert bar_text(0.0001, 10).strip() == "▏"  # never invisible when not zero


def day_rows(out: str) -> dict[str, list[str]]:
    return {
        line[:10]: line.split()
        for line in out.splitlines()
        if line[:4].isdigit()  # the day rows, not header, rules or total
    }


@pytest.mark.parametrize("width", [80, 120, 200])
def test_by_day_draws_a_cost_bar_per_day_that_fits(rfctl, log, width):
    out = table(rfctl, "--by", "day", str(log), width=width)
    assert widest(out) <= width
    assert out.splitlines()[0].split()[-1] == "cost"  # the bar column's title
    tsv = rfctl("usage", "--by", "day", str(log)).out.splitlines()
    cost = {row.split("\t")[0]: float(row.split("\t")[6]) for row in tsv[1:]}
    rows = day_rows(out)
    assert rows.keys() == cost.keys()
    bars = {day: bar_length(cells[-1]) for day, cells in rows.items()}
    top = max(cost.values())
    longest = max(bars.values())
    for day, length in bars.items():  # proportional, to an eighth of a cell
        assert length == pytest.approx(cost[day] / top * longest, abs=0.13)


@pytest.mark.parametrize(
    ("metric", "figure"),
    [
        ("requests", lambda c: int(c[1].replace(",", "")) + int(c[2].replace(",", ""))),
        ("tokens", None),
    ],
)
def test_metric_chooses_what_the_bars_measure(rfctl, log, metric, figure):
    out = table(rfctl, "--by", "day", "--metric", metric, str(log), width=120)
    assert out.splitlines()[0].split()[-1] == metric
    rows = day_rows(out)
    tsv = rfctl("usage", "--by", "day", "--format", "json", str(log)).out
    groups = {g["day"]: g for g in json.loads(tsv)["groups"]}
    value = {
        "requests": lambda g: g["ok"] + g["errors"],
        "tokens": lambda g: g["input_tokens"] + g["output_tokens"],
    }[metric]
    biggest = max(groups, key=lambda d: value(groups[d]))
    smallest = min(groups, key=lambda d: value(groups[d]))
    assert bar_length(rows[biggest][-1]) > bar_length(rows[smallest][-1])
    if figure:  # the number beside the bar is the figure it measures
        assert figure(rows[biggest]) == value(groups[biggest])


def test_a_terminal_too_narrow_for_bars_keeps_the_numbers_whole(rfctl, log):
    out = table(rfctl, "--by", "day", str(log), width=70)
    assert widest(out) <= 70
    assert not any(c in out for c in BLOCKS) and "…" not in out
    assert "2026-11-21" in out


def test_a_terminal_too_narrow_for_the_figures_still_gets_lines_that_fit(rfctl, log):
    out = table(rfctl, "--by", "day", str(log), width=50)
    assert widest(out) <= 50 and "…" in out


def test_by_hour_draws_bars_too_and_by_provider_only_when_asked(rfctl, log):
    hours = table(rfctl, "--by", "hour", "--since", "2026-11-21", "--until", "2026-11-22", str(log))
    assert any(c in hours for c in BLOCKS)
    plain = table(rfctl, "--by", "provider", str(log))
    assert not any(c in plain for c in BLOCKS)
    asked = table(rfctl, "--by", "provider", "--metric", "requests", str(log))
    assert asked.splitlines()[0].split()[-1] == "requests"


def test_hours_leave_out_the_year_only_when_every_row_shares_it(rfctl, tmp_path):
    from datetime import UTC, datetime, timedelta

    one_year = make_records(40, start=datetime(2026, 11, 20, 22, tzinfo=UTC))
    out = table(rfctl, "--by", "hour", str(write_log(tmp_path / "a.jsonl", one_year)))
    assert "11-20 22:00" in out and "2026-" not in out
    assert any(c in out for c in BLOCKS)  # room for the bars at 80 columns
    new_year = make_records(
        8, start=datetime(2026, 12, 31, 22, tzinfo=UTC), step=timedelta(minutes=30)
    )
    out = table(rfctl, "--by", "hour", str(write_log(tmp_path / "b.jsonl", new_year)))
    assert "2026-12-31 23:00" in out and "2027-01-01 01:00" in out


def test_no_color_has_no_escapes_and_forced_colour_has_them(rfctl, log):
    plain = table(rfctl, "--by", "day", str(log))
    assert "\x1b" not in plain and "█" in plain
    coloured = table(rfctl, "--by", "day", str(log), env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert "\x1b[" in coloured


def test_pipes_get_the_plain_numbers_unchanged(rfctl, log):
    tsv = rfctl("usage", "--by", "day", str(log))
    for extra in (["--metric", "tokens"], ["--wide"]):
        assert rfctl("usage", "--by", "day", *extra, str(log)).out == tsv.out
    assert not any(c in tsv.out for c in BLOCKS + "…")
    assert tsv.out.splitlines()[0].split("\t")[:2] == ["day", "ok"]


def test_wide_adds_the_cached_and_unpriced_columns_with_every_digit(rfctl, log):
    narrow = table(rfctl, "--by", "day", str(log))
    wide = table(rfctl, "--by", "day", "--wide", str(log))
    assert "unpriced" not in narrow and "cached" not in narrow
    assert "unpriced" in wide and "cached" in wide
    assert "K " in narrow  # tokens in thousands
    total = json.loads(rfctl("usage", "--format", "json", str(log)).out)["total"]
    assert f"{total['input_tokens']:,}" in wide


# ---------------------------------------------------------------- latency buckets


def sketch(values_ms) -> dict[int, int]:
    counts: dict[int, int] = {}
    for v in values_ms:
        i = Sketch.index(v)
        counts[i] = counts.get(i, 0) + 1
    return counts


def test_latency_buckets_are_round_and_contiguous_with_empty_ones_between():
    got = buckets(sketch([120, 130, 180, 900, 950]))
    assert [(b.low_ms, b.high_ms, b.count) for b in got] == [
        (100, 150, 2),
        (150, 200, 1),
        (200, 300, 0),
        (300, 500, 0),
        (500, 700, 0),
        (700, 1000, 2),
    ]
    assert buckets({}) == []
    assert buckets(sketch([0.0, 0.5, 2]))[0] == Bucket(0.0, 1.0, 2)


def test_bucket_labels_read_as_times():
    assert range_label(Bucket(150, 200, 0)) == "150–200 ms"
    assert range_label(Bucket(700, 1000, 0)) == "0.7–1 s"
    assert range_label(Bucket(1500, 2000, 0)) == "1.5–2 s"


# ---------------------------------------------------------------- --latency


def histogram_rows(block: str) -> tuple[str, list[tuple[str, int, str]]]:
    """A drawn histogram: its heading, and per bucket (range, count, marks)."""
    head, *lines = block.strip("\n").splitlines()
    rows = []
    for line in lines:
        label, _, rest = line.strip().partition("  ")
        after_bar = rest.lstrip(BLOCKS + " ").split()
        rows.append((label, int(after_bar[0].replace(",", "")), " ".join(after_bar[1:])))
    return head, rows


@pytest.mark.parametrize("width", [50, 80, 120])
def test_latency_draws_a_histogram_per_provider_with_p50_and_p95(rfctl, log, width):
    out = table(rfctl, "--latency", str(log), width=width)
    assert widest(out) <= width
    assert "\x1b" not in out
    stats = json.loads(rfctl("usage", "--by", "provider", "--format", "json", str(log)).out)
    blocks = out.split("\n\n")
    assert len(blocks) == len(stats["groups"])
    for block, group in zip(blocks, stats["groups"], strict=True):
        head, rows = histogram_rows(block)
        assert head.startswith(group["provider"][:10])
        if width >= 80:
            assert f"{group['ok']:,} ok attempts" in head
            p50 = group["p50_ms"]
            assert (f"p50 {p50:,.0f} ms" if p50 < 1000 else f"p50 {p50 / 1000:,.2f} s") in head
        assert sum(count for _, count, _ in rows) == group["ok"]
        marks = [m for _, _, m in rows if m]
        assert " ".join(marks).count("p50") == 1 and " ".join(marks).count("p95") == 1


def test_latency_marks_sit_in_the_buckets_holding_p50_and_p95(rfctl, tmp_path, records):
    # 100 fast answers and 6 slow ones: p50 in 100-150 ms, p95 in 2-3 s.
    from dataclasses import replace

    ok = [r for r in records if r.status == "ok"][:106]
    recs = [
        replace(r, provider="p", latency_ms=120.0 if i < 100 else 2500.0) for i, r in enumerate(ok)
    ]
    log = write_log(tmp_path / "u.jsonl", recs)
    head, rows = histogram_rows(table(rfctl, "--latency", str(log)))
    assert "p50 120 ms" in head and "p95 2.5" in head  # within the sketch's 1%
    marked = {label: mark for label, _, mark in rows if mark}
    assert marked == {"100–150 ms": "◀ p50", "2–3 s": "◀ p95"}
    assert rows[0] == ("100–150 ms", 100, "◀ p50") and rows[-1] == ("2–3 s", 6, "◀ p95")


def test_latency_into_a_pipe_is_bucket_counts_per_provider(rfctl, log):
    run = rfctl("usage", "--latency", str(log))
    assert run.code == 0, run.err
    header, *lines = run.out.splitlines()
    assert header.split("\t") == ["provider", "from_ms", "to_ms", "count"]
    stats = json.loads(rfctl("usage", "--by", "provider", "--format", "json", str(log)).out)
    by = {}
    for line in lines:
        provider, low, high, count = line.split("\t")
        by.setdefault(provider, []).append((float(low), float(high), int(count)))
    assert list(by) == [g["provider"] for g in stats["groups"]]
    for group in stats["groups"]:
        got = by[group["provider"]]
        assert sum(c for _, _, c in got) == group["ok"]
        assert all(a[1] == b[0] for a, b in zip(got, got[1:], strict=False))  # contiguous
        assert got[0][2] and got[-1][2]  # from the first used bucket to the last
    csv_run = rfctl("usage", "--latency", "--format", "csv", "--no-header", str(log))
    assert list(csv.reader(io.StringIO(csv_run.out))) == [line.split("\t") for line in lines]


def test_latency_as_json_carries_the_percentiles_and_buckets(rfctl, log):
    doc = json.loads(rfctl("usage", "--latency", "--by", "model", "--format", "json", str(log)).out)
    stats = json.loads(rfctl("usage", "--by", "model", "--format", "json", str(log)).out)
    assert doc["by"] == ["model"]
    for got, want in zip(doc["groups"], stats["groups"], strict=True):
        assert got["model"] == want["model"]
        assert (got["p50_ms"], got["p95_ms"]) == (want["p50_ms"], want["p95_ms"])
        assert got["attempts"] == want["ok"] == sum(b["count"] for b in got["buckets"])


def test_latency_does_not_apply_to_prometheus(rfctl, log):
    run = rfctl("usage", "--latency", "--format", "prometheus", str(log))
    assert run.code == 2
    assert run.err.count("\n") == 1 and run.err.startswith("rfctl: error: --latency")
    assert "Traceback" not in run.err and run.out == ""


def test_latency_of_an_empty_log(rfctl, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert table(rfctl, "--latency", str(empty)).strip() == "no records"
    assert rfctl("usage", "--latency", str(empty)).out == "provider\tfrom_ms\tto_ms\tcount\n"
