"""rfctl usage: aggregate the usage log(s).

Streaming: records are folded into per-group counters as they are read, so
memory grows with the number of groups, never with the number of records.
Latency percentiles come from a log-bucketed histogram (relative error at most
1%), not from a list of every latency.
"""

from __future__ import annotations

import argparse
import math
import sys

HELP = "aggregate the usage log: requests, errors, tokens, cost, latency"

DESCRIPTION = """\
Aggregate the usage log (default), the FILEs given (plain or gzip, e.g.
rotated logs), or stdin ('-'). One line of the log is one attempt; per group
it prints the attempts that succeeded (ok) and failed (errors), input and
output tokens (cached_input is part of input), cost in USD (with the number of
records whose price was unknown: unpriced), and latency p50/p95 in ms of the
successful attempts (with --by status, of each status's own attempts).

Times are UTC, like the log: --since is inclusive, --until exclusive. Each
takes a duration back from now (30m, 24h, 7d, 2w), 'today', 'yesterday', or
an ISO date or time (2026-11-29, 2026-11-29T13:00, 2026-11-29T13:00+01:00;
no zone means UTC).

Output is a table on a terminal and tab-separated text (with a header line)
otherwise. --format prometheus prints metrics for node_exporter's textfile
collector; its labels are fixed, so --by does not apply:
  rfctl_requests_total{provider,model,status}       attempts
  rfctl_tokens_total{provider,model,type}           type: input|cached_input|output
  rfctl_cost_usd_total{provider,model}
  rfctl_unpriced_requests_total                     attempts with no known price
  rfctl_fallbacks_total                             answered after a failed attempt
                                                    (ok records with attempt > 1)
  rfctl_request_duration_seconds{provider,model}    histogram of every attempt

A line that is not a valid record (torn by a crash, edited) is skipped and
counted in one warning. A missing default log is an empty result; a FILE that
cannot be read is bad input (exit 65)."""

BY_FIELDS = ("provider", "model", "day", "hour", "status")
FORMATS = ("table", "tsv", "json", "csv", "prometheus")

# Prometheus histogram bounds, seconds: LLM calls run from 100 ms to minutes.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)


def add_parser(sub, parents):
    p = sub.add_parser(
        "usage",
        parents=parents,
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="log files to read (plain or .gz); '-' for stdin; default: the usage log",
    )
    p.add_argument(
        "--since", metavar="WHEN", help="only records at or after WHEN (24h, 7d, 2026-11-29)"
    )
    p.add_argument("--until", metavar="WHEN", help="only records before WHEN")
    p.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="NAME",
        help="only these providers (repeatable or comma-separated)",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="MODEL",
        help="only these models (repeatable or comma-separated)",
    )
    p.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="FIELD",
        help="group by "
        + "|".join(BY_FIELDS)
        + " (repeatable or comma-separated, e.g. --by provider,model)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: table on a terminal, tsv otherwise)",
    )
    p.add_argument("--no-header", action="store_true", help="tsv/csv: leave out the header line")
    p.set_defaults(run=run)


def run(args) -> int:
    from rfctl import config
    from rfctl.errors import InputError, UsageError
    from rfctl.output import stdout_is_tty

    by = _split(args.by)
    for name in by:
        if name not in BY_FIELDS:
            raise UsageError(f"--by {name!r}: choose from {', '.join(BY_FIELDS)}")
    by = list(dict.fromkeys(by))  # repeated names group once
    fmt = args.format or ("table" if stdout_is_tty() else "tsv")
    if fmt == "prometheus" and by:
        raise UsageError(
            "--by does not apply to --format prometheus "
            "(its labels are fixed: provider, model, status, type)"
        )
    since = parse_when(args.since, "--since") if args.since else None
    until = parse_when(args.until, "--until") if args.until else None

    if args.files:
        sources = args.files
        if sources.count("-") > 1:
            raise UsageError("stdin ('-') can be read only once")
        for name in sources:
            if name != "-":
                try:
                    with open(name, "rb"):
                        pass
                except OSError as e:
                    raise InputError(f"cannot read {name}: {e.strerror or e}") from None
    else:
        log = config.resolve_paths(args).usage_log
        sources = [log] if log.exists() else []

    from rfctl import usagelog

    counter = usagelog.Counter()
    filters = Filters(
        since=since,
        until=until,
        providers=set(_split(args.provider)) or None,
        models=set(_split(args.model)) or None,
    )
    batches = usagelog.iter_batches(sources, counter)
    try:
        if fmt == "prometheus":
            groups = aggregate(batches, ["provider", "model", "status"], filters, prometheus=True)
        else:
            groups = aggregate(batches, by, filters, latency_all="status" in by)
    except OSError as e:  # e.g. a named file vanished or turned unreadable mid-way
        raise InputError(f"cannot read usage log: {e.strerror or e}") from None
    for problem in counter.problems:
        print(f"rfctl: warning: {problem}", file=sys.stderr)
    if counter.skipped:
        s = "" if counter.skipped == 1 else "s"
        print(
            f"rfctl: warning: skipped {counter.skipped} invalid line{s} "
            "(torn or not a usage record)",
            file=sys.stderr,
        )

    if fmt == "prometheus":
        text = render_prometheus(groups)
    else:
        rows = summarise(groups, by)
        totals = total(groups)
        if fmt == "table":
            _print_table(rows, by, totals)
            return 0
        text = {"tsv": render_tsv, "csv": render_csv, "json": render_json}[fmt](
            rows, by, header=not args.no_header, since=since, until=until, totals=totals
        )
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


# ---------------------------------------------------------------- time bounds


def parse_when(text: str, option: str = "--since") -> str:
    """A bound as the log writes timestamps ('2026-11-29T00:00:00.000Z'), so
    filtering is a string comparison per record."""
    import re
    from datetime import UTC, datetime, timedelta

    from rfctl.errors import UsageError
    from rfctl.usagelog import format_ts

    value = text.strip()
    now = datetime.now(UTC)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", value)
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m[2]]
        return format_ts(now - timedelta(**{unit: float(m[1])}))
    if value in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return format_ts(midnight - timedelta(days=1 if value == "yesterday" else 0))
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {text!r}: use a duration like 30m, 24h, 7d, 'today', "
            "or a date/time like 2026-11-29 or 2026-11-29T13:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # the log is UTC, so are bare dates
    return format_ts(when)


# ---------------------------------------------------------------- aggregation


class Filters:
    def __init__(self, since=None, until=None, providers=None, models=None):
        self.since, self.until = since, until
        self.providers, self.models = providers, models

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.since, self.until, self.providers, self.models))

    def accepts(self, r) -> bool:
        ts = r.ts
        if self.since is not None and ts < self.since:
            return False
        if self.until is not None and ts >= self.until:
            return False
        if self.providers is not None and r.provider not in self.providers:
            return False
        return self.models is None or r.model in self.models


class Sketch:
    """Latency histogram with log-spaced buckets: any quantile it returns is
    within ALPHA relative error of a true sample value (the DDSketch idea), in
    memory bounded by the value range (~1,400 buckets from 1 ms to 20 min).
    Values are milliseconds; counts live in a plain dict (index -> count)."""

    ALPHA = 0.01
    GAMMA = (1 + ALPHA) / (1 - ALPHA)
    OFFSET = 10_000  # keeps indexes positive, so int() floors, down to 1e-40 ms
    MIN = 1e-3  # at or below this, a value counts as 0

    @classmethod
    def index(cls, value: float) -> int:
        if value <= cls.MIN:
            return 0
        return int(math.log(value) / math.log(cls.GAMMA)) + cls.OFFSET

    @classmethod
    def value(cls, index: int) -> float:
        # Bucket i holds [g^(i-O), g^(i-O+1)); this point is within ALPHA of both ends.
        if index == 0:
            return 0.0
        return 2 * cls.GAMMA ** (index - cls.OFFSET + 1) / (cls.GAMMA + 1)

    @classmethod
    def quantile(cls, counts: dict[int, int], q: float) -> float | None:
        """Nearest-rank quantile: the smallest value with at least q of the samples at or below it."""
        n = sum(counts.values())
        if not n:
            return None
        rank = max(1, math.ceil(q * n))
        seen = 0
        for index in sorted(counts):
            seen += counts[index]
            if seen >= rank:
                return cls.value(index)
        return cls.value(max(counts))  # unreachable


# Group state is a list indexed by these (faster than attributes in the hot loop).
OK, ERR, IN, OUT, CACHED, COST, UNPRICED, FALLBACKS, LAT, DUR, DURSUM = range(11)


def _new_group(prometheus: bool) -> list:
    g = [0, 0, 0, 0, 0, 0.0, 0, 0, {}, None, 0.0]
    if prometheus:
        g[DUR] = [0] * (len(DURATION_BUCKETS) + 1)
    return g


def _key_function(by: list[str]):
    """record -> group key tuple, as cheap as it can be made for the hot loop."""
    from operator import attrgetter

    if not by:
        return lambda r: ()
    getters = {
        "provider": attrgetter("provider"),
        "model": attrgetter("model"),
        "status": attrgetter("status"),
        "day": lambda r: r.ts[:10],
        "hour": lambda r: r.ts[:13],
    }
    if len(by) > 1 and all(f in ("provider", "model", "status") for f in by):
        return attrgetter(*by)  # returns the tuple itself, in C
    single = {
        "provider": lambda r: (r.provider,),
        "model": lambda r: (r.model,),
        "status": lambda r: (r.status,),
        "day": lambda r: (r.ts[:10],),
        "hour": lambda r: (r.ts[:13],),
    }
    if len(by) == 1:
        return single[by[0]]
    fns = [getters[f] for f in by]
    if len(fns) == 2:
        a, b = fns
        return lambda r: (a(r), b(r))
    return lambda r: tuple(f(r) for f in fns)


def aggregate(
    batches,
    by: list[str],
    filters: Filters | None = None,
    *,
    latency_all: bool = False,
    prometheus: bool = False,
) -> dict[tuple, list]:
    """Fold records into {group key: state}. latency_all feeds every attempt
    to the latency sketch, not only successful ones."""
    from bisect import bisect_left

    filters = filters or Filters()
    accept = filters.accepts if filters.active else None
    key = _key_function(by)
    groups: dict[tuple, list] = {}
    log = math.log
    k = 1 / math.log(Sketch.GAMMA)
    offset, smallest = Sketch.OFFSET, Sketch.MIN
    bounds_ms = [b * 1000 for b in DURATION_BUCKETS]
    for batch in batches:
        for r in batch:
            if accept is not None and not accept(r):
                continue
            gk = key(r)
            g = groups.get(gk)
            if g is None:
                g = groups[gk] = _new_group(prometheus)
            ok = r.status == "ok"
            if ok:
                g[OK] += 1
                if r.attempt > 1:
                    g[FALLBACKS] += 1
            else:
                g[ERR] += 1
            x = r.input_tokens
            if x:
                g[IN] += x
            x = r.output_tokens
            if x:
                g[OUT] += x
            x = r.cached_input_tokens
            if x:
                g[CACHED] += x
            x = r.cost_usd
            if x is None:
                g[UNPRICED] += 1
            else:
                g[COST] += x
            lat = r.latency_ms
            if prometheus:  # fixed buckets instead of the percentile sketch
                g[DUR][bisect_left(bounds_ms, lat)] += 1
                g[DURSUM] += lat
            elif ok or latency_all:
                i = int(log(lat) * k) + offset if lat > smallest else 0
                s = g[LAT]
                s[i] = s.get(i, 0) + 1
    return groups


# ---------------------------------------------------------------- output

COLUMNS = (
    "ok",
    "errors",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "cost_usd",
    "unpriced",
    "p50_ms",
    "p95_ms",
)


def summarise(groups: dict[tuple, list], by: list[str]) -> list[dict]:
    """One dict per group (group fields first, then COLUMNS), sorted by group.
    With no --by there is always exactly one row, zeros when nothing matched."""
    if not by and not groups:
        groups = {(): _new_group(False)}
    rows = []
    for key in sorted(groups, key=lambda k: tuple("" if v is None else v for v in k)):
        row = dict(zip(by, key, strict=True))
        row.update(_columns(groups[key]))
        rows.append(row)
    return rows


def total(groups: dict[tuple, list]) -> dict:
    """All groups together; latency percentiles from the merged histograms."""
    merged = _new_group(False)
    for g in groups.values():
        for i in (OK, ERR, IN, OUT, CACHED, COST, UNPRICED, FALLBACKS):
            merged[i] += g[i]
        for index, count in g[LAT].items():
            merged[LAT][index] = merged[LAT].get(index, 0) + count
    return _columns(merged)


def _columns(g: list) -> dict:
    return {
        "ok": g[OK],
        "errors": g[ERR],
        "input_tokens": g[IN],
        "cached_input_tokens": g[CACHED],
        "output_tokens": g[OUT],
        "cost_usd": round(g[COST], 9),
        "unpriced": g[UNPRICED],
        "p50_ms": _round(Sketch.quantile(g[LAT], 0.5)),
        "p95_ms": _round(Sketch.quantile(g[LAT], 0.95)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"
    return str(value)


def _hour_label(by, row):
    # Hour groups print as a time, not a bare '2026-11-29T13'.
    if "hour" in by and row.get("hour"):
        row = {**row, "hour": row["hour"] + ":00Z"}
    return row


def _tsv_field(text: str) -> str:
    # A tab or line break inside a name (a model is just a string) must not
    # shift columns or split a row for awk and cut.
    return text.translate(_TSV_SAFE)


_TSV_SAFE = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def render_tsv(rows, by, *, header=True, **_) -> str:
    names = [*by, *COLUMNS]
    out = ["\t".join(names)] if header else []
    for row in rows:
        row = _hour_label(by, row)
        out.append("\t".join(_tsv_field(_cell(row[n])) for n in names))
    return "".join(line + "\n" for line in out)


def render_csv(rows, by, *, header=True, **_) -> str:
    import csv
    import io

    names = [*by, *COLUMNS]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(names)
    for row in rows:
        row = _hour_label(by, row)
        w.writerow([_cell(row[n]) for n in names])
    return buf.getvalue()


def render_json(rows, by, *, since=None, until=None, totals=None, **_) -> str:
    import json

    doc = {
        "since": since,
        "until": until,
        "by": by,
        "groups": [_hour_label(by, r) for r in rows],
        "total": totals,
    }
    return json.dumps(doc, indent=2) + "\n"


def _print_table(rows, by, totals) -> None:
    import os

    from rich.console import Console
    from rich.table import Table

    # NO_COLOR: no escape sequences at all (rich's no_color still prints bold).
    plain = bool(os.environ.get("NO_COLOR"))
    console = Console(color_system=None) if plain else Console()
    table = Table(show_footer=len(rows) > 1)
    labels = {
        "input_tokens": "input",
        "cached_input_tokens": "cached",
        "output_tokens": "output",
        "cost_usd": "cost $",
        "p50_ms": "p50 ms",
        "p95_ms": "p95 ms",
    }
    total = totals if len(rows) > 1 else {}
    for i, name in enumerate(by):
        table.add_column(name, footer="total" if i == 0 else "")
    for name in COLUMNS:
        footer = _human(name, total.get(name)) if total else ""
        table.add_column(labels.get(name, name), justify="right", footer=footer)
    for row in rows:
        row = _hour_label(by, row)
        table.add_row(
            *[("-" if row[n] is None else str(row[n])) for n in by],
            *[_human(n, row[n]) for n in COLUMNS],
        )
    console.print(table)


def _human(name: str, value) -> str:
    if value is None:
        return "-"
    if name == "cost_usd":
        return f"{value:,.4f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


# ---------------------------------------------------------------- prometheus


def render_prometheus(groups: dict[tuple, list]) -> str:
    """groups keyed by (provider, model, status), from aggregate(prometheus=True)."""
    from rfctl.prometheus import Family, Sample, histogram_samples, render

    def pm(provider, model):
        return {"provider": provider, "model": model or ""}

    requests = Family(
        "rfctl_requests_total", "counter", "Attempts recorded in the usage log, by outcome."
    )
    tokens = Family(
        "rfctl_tokens_total", "counter", "Tokens recorded (type input includes cached_input)."
    )
    cost = Family(
        "rfctl_cost_usd_total", "counter", "Cost in USD of the attempts whose price is known."
    )
    unpriced = Family(
        "rfctl_unpriced_requests_total",
        "counter",
        "Attempts whose cost is unknown (no price for the model).",
    )
    fallbacks = Family(
        "rfctl_fallbacks_total",
        "counter",
        "Requests answered only after an earlier attempt failed "
        "(ok records with attempt > 1: a retry or a fallback).",
    )
    duration = Family(
        "rfctl_request_duration_seconds",
        "histogram",
        "Duration of each attempt, successful or not.",
    )
    by_pm: dict[tuple, list] = {}
    total_unpriced = total_fallbacks = 0
    for (provider, model, status), g in sorted(
        groups.items(), key=lambda kv: tuple("" if v is None else v for v in kv[0])
    ):
        labels = pm(provider, model)
        requests.samples.append(Sample({**labels, "status": status}, g[OK] + g[ERR]))
        total_unpriced += g[UNPRICED]
        total_fallbacks += g[FALLBACKS]
        acc = by_pm.setdefault((provider, model), [0, 0, 0, 0.0, [0] * len(g[DUR]), 0.0])
        acc[0] += g[IN]
        acc[1] += g[CACHED]
        acc[2] += g[OUT]
        acc[3] += g[COST]
        acc[4] = [a + b for a, b in zip(acc[4], g[DUR], strict=True)]
        acc[5] += g[DURSUM]
    for (provider, model), (inp, cached, out, usd, dur, dursum) in by_pm.items():
        labels = pm(provider, model)
        tokens.samples += [
            Sample({**labels, "type": "input"}, inp),
            Sample({**labels, "type": "cached_input"}, cached),
            Sample({**labels, "type": "output"}, out),
        ]
        cost.samples.append(Sample(labels, round(usd, 9)))
        duration.samples += histogram_samples(
            "rfctl_request_duration_seconds", labels, DURATION_BUCKETS, dur, dursum / 1000
        )
    unpriced.samples.append(Sample({}, total_unpriced))
    fallbacks.samples.append(Sample({}, total_fallbacks))
    return render([requests, tokens, cost, unpriced, fallbacks, duration])
