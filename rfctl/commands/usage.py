"""rfctl usage: the command line and the output shapes of aggregating the
usage log(s). What is counted, and how, is rfctl.usage_stats."""

from __future__ import annotations

import sys

# What --by accepts (rfctl.usage_stats knows how to group by each). Here, not
# there: the parser is built on every run, and the query layer is imported
# only when `rfctl usage` runs.
BY_FIELDS = ("provider", "model", "day", "hour", "status")

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
  rfctl_fallbacks_total                             answered by another provider than
                                                    the first one tried
  rfctl_retried_requests_total                      answered by the first provider tried,
                                                    after retrying it
  rfctl_request_duration_seconds{provider,model}    histogram of every attempt

On a terminal the table is fitted to its width (--wide: every column, every
digit). Grouped by day or hour it draws a bar per period beside the numbers:
cost, or --metric requests|tokens. --latency draws instead, per provider (or
--by group), a histogram of the latencies with the p50 and p95 buckets
marked; into a pipe it prints the bucket counts: the group fields, from_ms,
to_ms, count.

--reprice prices every record again from its recorded tokens, at the price
valid at its timestamp in today's price data (your models.yaml, then the
genai-prices database, then rfctl's own): what the log would say had it been
written now. Only the output changes; the log is never rewritten.

A line that is not a valid record (torn by a crash, edited) is skipped and
counted in one warning. A missing default log is an empty result; a FILE that
cannot be read is bad input (exit 65)."""

FORMATS = ("table", "tsv", "json", "csv", "prometheus")
METRICS = ("cost", "requests", "tokens")  # what the bars of a terminal table measure


def add_parser(sub, parents):
    from rfctl.commands.parser import command_parser

    p = command_parser(sub, "usage", parents, HELP, DESCRIPTION)
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
    # The pictures (a terminal's table only; pipes get the same numbers as ever).
    from rfctl.table import add_wide_option

    add_wide_option(p)
    p.add_argument(
        "--metric",
        choices=METRICS,
        help="table: draw a bar per group of this (default cost; bars are drawn "
        "with --by day or hour, or whenever --metric is given)",
    )
    p.add_argument(
        "--latency",
        action="store_true",
        help="latency histogram per provider (or per --by group) with p50/p95 marked; "
        "tsv/csv/json: bucket counts",
    )
    p.add_argument(
        "--reprice",
        action="store_true",
        help="recompute each record's cost from its tokens at current price data "
        "(the price valid at its time); the log is not changed",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from rfctl import config
    from rfctl.console import warn
    from rfctl.errors import InputError, UsageError
    from rfctl.output import stdout_is_tty
    from rfctl.usage_stats import Filters, aggregate, parse_when, summarise, total

    by = _split(args.by)
    for name in by:
        if name not in BY_FIELDS:
            raise UsageError(f"--by {name!r}: choose from {', '.join(BY_FIELDS)}")
    by = list(dict.fromkeys(by))  # repeated names group once
    fmt = args.format or ("table" if stdout_is_tty() else "tsv")
    if fmt == "prometheus" and args.latency:
        raise UsageError(
            "--latency does not apply to --format prometheus "
            "(rfctl_request_duration_seconds is its histogram)"
        )
    if args.latency and not by:
        by = ["provider"]
    elif fmt == "prometheus" and by:
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
    if args.reprice:
        from rfctl import registry
        from rfctl.reprice import repriced

        paths = config.resolve_paths(args)
        batches = repriced(batches, config.load(paths), registry.load(paths))
    try:
        if fmt == "prometheus":
            groups = aggregate(batches, ["provider", "model", "status"], filters, prometheus=True)
        else:
            groups = aggregate(batches, by, filters, latency_all="status" in by)
    except OSError as e:  # e.g. a named file vanished or turned unreadable mid-way
        raise InputError(f"cannot read usage log: {e.strerror or e}") from None
    for problem in counter.problems:
        warn(problem)
    if counter.skipped:
        s = "" if counter.skipped == 1 else "s"
        warn(f"skipped {counter.skipped} invalid line{s} (torn or not a usage record)")

    if args.latency:
        text = render_latency(groups, by, fmt, header=not args.no_header)
    elif fmt == "prometheus":
        text = render_prometheus(groups)
    else:
        rows = summarise(groups, by)
        totals = total(groups)
        if fmt == "table":
            print_table(rows, by, totals, wide=args.wide, metric=args.metric)
            return 0
        text = {"tsv": render_tsv, "csv": render_csv, "json": render_json}[fmt](
            rows, by, header=not args.no_header, since=since, until=until, totals=totals
        )
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


# ---------------------------------------------------------------- output


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
    from rfctl.usage_stats import COLUMNS

    names = [*by, *COLUMNS]
    out = ["\t".join(names)] if header else []
    for row in rows:
        row = _hour_label(by, row)
        out.append("\t".join(_tsv_field(_cell(row[n])) for n in names))
    return "".join(line + "\n" for line in out)


def render_csv(rows, by, *, header=True, **_) -> str:
    import csv
    import io

    from rfctl.usage_stats import COLUMNS

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


# Terminal-table titles of the figures; the others are titled by their key.
_TITLES = {
    "input_tokens": "input",
    "cached_input_tokens": "cached",
    "output_tokens": "output",
    "cost_usd": "cost $",
    "p50_ms": "p50 ms",
    "p95_ms": "p95 ms",
    "saved_usd": "saved $",
}
# Figures the terminal table shows only with --wide. JSON has them all; TSV
# and CSV have COLUMNS (cached and saved_usd are JSON-only).
_WIDE = ("cached_input_tokens", "unpriced", "cached", "saved_usd")
_TOKENS = ("input_tokens", "cached_input_tokens", "output_tokens")


def print_table(rows, by, totals, stream=None, *, wide=False, metric=None) -> None:
    """The terminal table: one row per group, and a total row under several;
    a bar per group of the metric when grouped by time (or asked for)."""
    from rfctl.table import Column
    from rfctl.table import print_table as draw
    from rfctl.usage_stats import COLUMNS

    # Names may be cut to fit the terminal; periods and statuses are short.
    columns = [Column(name, name, elastic=name in ("provider", "model")) for name in by]
    columns += [
        Column(
            name,
            _TITLES.get(name, name),
            human=_human_figure(name, exact=wide),
            right=True,
            wide=name in _WIDE,
        )
        for name in (*COLUMNS, "cached", "saved_usd")
    ]
    rows = _short_hours(rows) if "hour" in by else rows
    if metric or {"day", "hour"} & set(by):
        metric = metric or "cost"
        values = [_metric(row, metric) for row in rows]
        top = max(values, default=0) or 1
        rows = [{**row, "bar": v / top} for row, v in zip(rows, values, strict=True)]
        columns.append(Column("bar", metric, bar=True, min_width=8))
    footer = {by[0]: "total", **totals} if len(rows) > 1 else None
    draw(rows, columns, stream, footer=footer, wide=wide)


def _short_hours(rows: list[dict]) -> list[dict]:
    """Hours as '2026-11-29 13:00', or '11-29 13:00' when every row is in the
    same year: room for the bars on an 80-column terminal."""
    years = {row["hour"][:4] for row in rows if row.get("hour")}
    cut = 5 if len(years) == 1 else 0
    return [
        {**row, "hour": row["hour"][cut:10] + " " + row["hour"][11:13] + ":00"}
        if row.get("hour")
        else row
        for row in rows
    ]


def _metric(row: dict, metric: str) -> float:
    if metric == "requests":
        return row["ok"] + row["errors"]
    if metric == "tokens":
        return row["input_tokens"] + row["output_tokens"]
    return row["cost_usd"]


def _human_figure(name: str, exact: bool = False):
    def human(value) -> str:
        from rfctl.table import human_tokens

        if value is None:
            return "-"
        if name in ("cost_usd", "saved_usd"):
            return f"{value:,.4f}"
        if name in _TOKENS and not exact:  # 1.2M, 345K: the TSV has every digit
            return human_tokens(value)
        if isinstance(value, float):
            return f"{value:,.0f}" if not exact else f"{value:,.1f}"
        return f"{value:,}"

    return human


def render_latency(groups: dict, by: list[str], fmt: str, *, header: bool = True) -> str:
    """--latency in each output shape (rfctl.usage_latency); the table is
    drawn on stdout, the others returned as text."""
    from rfctl import usage_latency

    if fmt == "table":
        from rfctl.table import terminal_width

        usage_latency.print_pictures(groups, by, sys.stdout, terminal_width(sys.stdout))
        return ""
    if fmt == "json":
        import json

        return json.dumps(usage_latency.document(groups, by), indent=2) + "\n"
    rows = usage_latency.rows(groups, by)
    names = [*by, *usage_latency.FIELDS]
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if header:
            w.writerow(names)
        w.writerows([_cell(row[n]) for n in names] for row in rows)
        return buf.getvalue()
    out = ["\t".join(names)] if header else []
    out += ["\t".join(_tsv_field(_cell(row[n])) for n in names) for row in rows]
    return "".join(line + "\n" for line in out)


# ---------------------------------------------------------------- prometheus


def render_prometheus(groups: dict) -> str:
    """groups keyed by (provider, model, status), from aggregate(prometheus=True)."""
    from rfctl.prometheus import Family, Sample, histogram_samples, render
    from rfctl.usage_stats import DURATION_BUCKETS, by_provider_model, group_sort_key

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
        "Requests answered by a provider other than the first one tried.",
    )
    retried = Family(
        "rfctl_retried_requests_total",
        "counter",
        "Requests answered by the first provider tried, after retrying it.",
    )
    duration = Family(
        "rfctl_request_duration_seconds",
        "histogram",
        "Duration of each attempt, successful or not.",
    )
    total_unpriced = total_fallbacks = total_retried = 0
    for (provider, model, status), g in sorted(
        groups.items(), key=lambda kv: group_sort_key(kv[0])
    ):
        labels = pm(provider, model)
        requests.samples.append(Sample({**labels, "status": status}, g.ok + g.errors))
        total_unpriced += g.unpriced
        total_fallbacks += g.fallbacks
        total_retried += g.retried
    for (provider, model), g in by_provider_model(groups).items():
        labels = pm(provider, model)
        tokens.samples += [
            Sample({**labels, "type": "input"}, g.input_tokens),
            Sample({**labels, "type": "cached_input"}, g.cached_input_tokens),
            Sample({**labels, "type": "output"}, g.output_tokens),
        ]
        cost.samples.append(Sample(labels, round(g.cost_usd, 9)))
        duration.samples += histogram_samples(
            "rfctl_request_duration_seconds",
            labels,
            DURATION_BUCKETS,
            g.durations,
            g.duration_sum_ms / 1000,
        )
    unpriced.samples.append(Sample({}, total_unpriced))
    fallbacks.samples.append(Sample({}, total_fallbacks))
    retried.samples.append(Sample({}, total_retried))
    return render([requests, tokens, cost, unpriced, fallbacks, retried, duration])
