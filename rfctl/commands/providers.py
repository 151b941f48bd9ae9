"""rfctl providers: every configured provider, and whether it answers right now.

The checks themselves live in rfctl.checks; this module parses, runs them and
renders the rows through rfctl.table.
"""

from __future__ import annotations

import sys

from rfctl.checks import DEFAULT_TIMEOUT
from rfctl.commands.parser import positive_float

HELP = "list configured providers: key, reachability, latency, cooldown, models"

DESCRIPTION = """\
List every configured provider with its kind, base URL, priority, whether it
is enabled, whether its API key is present (never the key), whether it
answers right now (all checked at once, bounded by --timeout), its latency,
its routing cooldown and the models it serves. A table on a terminal,
tab-separated text into a pipe, --json for machines."""


def add_parser(sub, parents):
    from rfctl.commands.parser import command_parser
    from rfctl.table import add_format_options

    p = command_parser(sub, "providers", parents, HELP, DESCRIPTION)
    p.add_argument("names", nargs="*", metavar="PROVIDER", help="only these providers")
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"bound on all the checks together (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--no-check",
        action="store_true",
        help="do not contact the providers (configuration and cooldowns only)",
    )
    add_format_options(p)
    p.set_defaults(run=run)


def _columns(streak: bool = False):
    from rfctl.table import Column

    def ms(v):
        return "-" if v is None else f"{v:.0f} ms"

    def secs(v):
        return "-" if not v else f"{v:.0f}s"

    def yes_no(v):
        return "?" if v is None else ("yes" if v else "no")

    def models(v):
        if not v:
            return "-"
        return ", ".join(v[:4]) + (f" (+{len(v) - 4})" if len(v) > 4 else "")

    return [
        Column("name", "name", elastic=True),
        Column("kind", "kind", elastic=True, min_width=8),
        Column("base_url", "base URL", elastic=True, min_width=16),
        Column("priority", "prio", right=True, wide=True),
        Column("enabled", "enabled", human=yes_no, wide=True),
        Column("key", "key", wide=True),
        Column("reachable", "reachable", human=yes_no),
        Column("latency_ms", "latency", human=ms, right=True),
        Column("cooldown_s", "cooldown", human=secs, right=True, wide=True),
        *(
            [
                Column("cooldown_period_s", "period", human=secs, right=True, wide=True),
                Column("failures", "fails", human=lambda v: str(v or 0), right=True, wide=True),
            ]
            if streak
            else []
        ),
        Column("models", "models", human=models, elastic=True, wide=True),
        Column("detail", "detail", elastic=True),
    ]


def run(args) -> int:
    from rfctl import config
    from rfctl.checks import check_health, cooldowns, select
    from rfctl.table import choose_format, emit

    paths = config.resolve_paths(args)
    cfg = config.load(paths)
    providers = select(cfg, args.names)
    verbose = getattr(args, "verbose", 0)
    cool = cooldowns(paths, verbose, cfg)
    from rfctl import localserver  # a managed llama-server: its URL while it runs

    reach = {p.name: localserver.current(p, paths) for p in providers}
    checkable = [q for q in reach.values() if q is not None]
    results = {} if args.no_check else check_health(checkable, args.timeout)
    rows = [
        _row(reach[p.name] or p, results.get(p.name), cool.get(p.name), args.no_check)
        for p in providers
    ]
    for row in rows:
        if reach[row["name"]] is None:
            row.update(base_url="managed, not running", detail="starts on first use")
    # The learned period and failure count: in the terminal table and JSON;
    # TSV keeps its documented columns.
    streak = choose_format(args.format, sys.stdout) == "table"
    emit(rows, _columns(streak), args.format, header=not args.no_header, wide=args.wide)
    return 0


def _left(cooldown) -> float | None:
    left = cooldown.left() if cooldown is not None else 0.0
    return round(left, 1) if left > 0 else None


def _row(p, check, cooldown, no_check: bool) -> dict:
    from rfctl.checks import configured_models, safe_url, scrub

    configured = configured_models(p)
    row = {
        "name": p.name,
        "kind": p.kind,
        "base_url": safe_url(p.base_url),
        "priority": p.priority,
        "enabled": p.enabled,
        "key": p.key_status(),
        "reachable": None,
        "latency_ms": None,
        "cooldown_s": _left(cooldown),
        "cooldown_period_s": round(cooldown.period, 1) if cooldown else None,
        "failures": cooldown.failures if cooldown else 0,
        "models": configured,
        "detail": "not checked" if no_check else None,
        "model": p.model,
    }
    if check is not None:
        row["reachable"] = check.ok
        row["latency_ms"] = None if check.latency_ms is None else round(check.latency_ms, 1)
        row["detail"] = scrub(check.detail) or None
        if check.models:
            row["models"] = list(check.models)
    return row
