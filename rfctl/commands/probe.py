"""rfctl probe: a health check for cron, Nagios/Icinga, systemd and node_exporter.

Exit codes follow the monitoring-plugin convention, not rfctl's usual ones:
0 all providers up, 1 some down (at least one up), 2 all down, 3 unknown
(bad configuration or usage). Output: a Nagios-style status line, then one
line per provider; or --json. --textfile writes Prometheus text atomically.
"""

from __future__ import annotations

import argparse
import sys

from rfctl import console

HELP = "health check for monitoring: exit 0 ok, 1 some down, 2 all down, 3 unknown"

DESCRIPTION = """\
Check that providers answer, all at once, each bounded by --timeout.
Shallow by default: the provider's health or model-list endpoint, plus, when
the server lists its models, that the configured model is among them.
--generate asks for a real one-token answer instead.

Exit status (monitoring-plugin convention): 0 OK, all up; 1 WARNING, some
down; 2 CRITICAL, all down; 3 UNKNOWN, bad configuration or usage. A success
ends the provider's routing cooldown; a connection failure or timeout starts
one. --textfile writes rfctl_provider_up, rfctl_probe_duration_seconds and
rfctl_probe_timestamp_seconds for node_exporter's textfile collector."""

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
DEFAULT_TIMEOUT = 10.0


class _ProbeParser(argparse.ArgumentParser):
    """Usage errors are UNKNOWN (3) here, not argparse's 2: a monitoring system
    must not read a typo in its check definition as "all providers down"."""

    def error(self, message):
        self.print_usage(sys.stderr)
        console.error(message)
        print(f"RFCTL UNKNOWN - usage error: {message}")
        sys.exit(UNKNOWN)

    def parse_known_args(self, args=None, namespace=None):
        # The top-level parser would report our leftover arguments (exit 2);
        # claim them here.
        ns, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return ns, extras


def add_parser(sub, parents):
    from rfctl.commands.parser import command_parser, positive_float

    p = command_parser(sub, "probe", parents, HELP, DESCRIPTION)
    p.__class__ = _ProbeParser  # subparsers offer no per-command parser class
    p.add_argument(
        "names",
        nargs="*",
        metavar="PROVIDER",
        help="providers to probe (default: every enabled provider with its key)",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"bound on each probe; they run in parallel (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--generate",
        action="store_true",
        help="ask each provider for a one-token answer instead of a health check",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument(
        "--textfile",
        metavar="PATH",
        help="also write Prometheus text to PATH atomically (node_exporter)",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from rfctl.errors import RfctlError

    try:
        return _run(args)
    except RfctlError as e:
        _unknown(args, e.message)
        return UNKNOWN


def _unknown(args, message: str) -> None:
    console.error(message)
    if getattr(args, "json", False):
        import json

        print(json.dumps({"status": "UNKNOWN", "code": UNKNOWN, "error": message}))
    else:
        print(f"RFCTL UNKNOWN - {message}")


def _run(args) -> int:
    import time

    from rfctl import config, registry
    from rfctl.checks import crashed_probe, generate_probe, parallel, select, shallow_probe
    from rfctl.errors import ConfigError

    paths = config.resolve_paths(args)
    cfg = config.load(paths)
    if args.names:
        providers = select(cfg, args.names)
        for p in providers:
            if p.key_required and not p.key():
                raise ConfigError(f"provider {p.name!r} needs an API key: set {p.api_key_env}")
    else:
        providers = []
        for p in select(cfg, [], enabled_only=True):
            if p.key_required and not p.key():
                console.say(
                    getattr(args, "verbose", 0),
                    f"note: not probing {p.name}: {p.api_key_env} is not set",
                )
                continue
            providers.append(p)
    if not providers:
        raise ConfigError("no providers to probe (none enabled with their keys)")

    reg = registry.load(paths)  # a bad registry is bad config: UNKNOWN, before any probe
    started = time.time()
    t0 = time.monotonic()
    from rfctl import localserver  # a managed llama-server is started to be probed

    def reach(p):
        return localserver.started(p, paths, timeout=args.timeout)

    if args.generate:
        book = _book_probe(paths, reg)
        results = parallel(
            lambda p: generate_probe(reach(p), cfg, reg, args.timeout, book=book),
            providers,
            args.timeout,
        )
    else:
        results = parallel(
            lambda p: shallow_probe(reach(p), cfg, reg, args.timeout), providers, args.timeout
        )
    outcomes = [
        value if exc is None else crashed_probe(p, exc, secs)
        for p, (value, exc, secs) in zip(providers, results, strict=True)
    ]
    total = time.monotonic() - t0

    _update_cooldowns(paths, cfg, outcomes)
    up = sum(o.up for o in outcomes)
    code = OK if up == len(outcomes) else CRITICAL if up == 0 else WARNING
    if args.textfile:
        _write_textfile(args.textfile, outcomes, started)
    if args.json:
        import json

        print(
            json.dumps(
                {
                    "status": STATUS[code],
                    "code": code,
                    "mode": "generate" if args.generate else "shallow",
                    "timestamp": round(started, 3),
                    "duration_s": round(total, 3),
                    "up": up,
                    "total": len(outcomes),
                    "providers": [o.as_json() for o in outcomes],
                },
                indent=2,
            )
        )
    else:
        sys.stdout.write(_nagios(code, outcomes, total))
    return code


# ---------------------------------------------------------------- effects


def _book_probe(paths, reg):
    """book(provider, result_or_error, latency_ms): the usage record of one
    `probe --generate` attempt (probe: true, so `rfctl usage` can leave it
    out): it spends tokens like any call."""
    from rfctl import ledger, routing
    from rfctl.checks import PROBE_PROMPT
    from rfctl.tokens import PromptTokens

    def book(p, model, outcome, latency_ms: float) -> None:
        from rfctl.providers.base import ProviderError

        rid = routing.new_request_id()
        prompt = PromptTokens(PROBE_PROMPT)
        if isinstance(outcome, ProviderError):
            a = ledger.failure(
                p.name, p.kind, outcome, model=model, number=1, wait_s=0.0, latency_ms=latency_ms
            )
            ledger.log(paths.usage_log, rid, a, stream=False, finish="error", probe=True)
            return
        used, cost, source = ledger.settled(
            outcome, p, sent=model, planned=None, registry=lambda: reg, prompt=prompt
        )
        a = ledger.success(
            p.name,
            p.kind,
            outcome,
            model=used,
            number=1,
            wait_s=0.0,
            cost=cost,
            price_source=source,
        )
        ledger.log(
            paths.usage_log,
            rid,
            a,
            stream=outcome.stream,
            usage=outcome.usage,
            finish=outcome.finish_reason,
            probe=True,
        )

    return book


# Failures that say the provider cannot be reached at all: the router should
# skip it for a while rather than pay the timeout again on every call.
_COOLDOWN_KINDS = ("connect", "timeout")


def _update_cooldowns(paths, cfg, outcomes: list) -> None:
    """In the shared router state (the file, or Redis: a probe on one host
    clears a cooldown for every host): up ends the streak, down is one more
    failure with the learned period."""
    from rfctl import state
    from rfctl.routing.cooldown import period

    d = cfg.defaults
    for o in outcomes:
        try:
            backend = state.shared(paths, cfg.state)
            if o.up:
                backend.succeed(o.p.name)
            elif o.error_kind in _COOLDOWN_KINDS:
                backend.fail(
                    o.p.name,
                    lambda n: period(n, d.cooldown_base, d.cooldown),
                    f"probe: {o.detail}"[:200],
                )
        except Exception as e:  # a state problem must not change the verdict
            console.warn(f"cannot update the cooldown of {o.p.name}: {e}")


def _write_textfile(path: str, outcomes: list, started: float) -> None:
    from rfctl.errors import RfctlError
    from rfctl.prometheus import Family, Sample, render, write_atomic

    up = Family(
        "rfctl_provider_up",
        "gauge",
        "1 when the provider answered the last rfctl probe, 0 when not.",
    )
    dur = Family(
        "rfctl_probe_duration_seconds",
        "gauge",
        "Seconds the last rfctl probe of the provider took.",
    )
    ts = Family(
        "rfctl_probe_timestamp_seconds", "gauge", "Unix time when the last rfctl probe ran."
    )
    for o in outcomes:
        up.samples.append(Sample({"provider": o.p.name}, 1 if o.up else 0))
        dur.samples.append(Sample({"provider": o.p.name}, round(o.seconds, 6)))
    ts.samples.append(Sample({}, round(started, 3)))
    try:
        write_atomic(path, render([up, dur, ts]))
    except OSError as e:
        raise RfctlError(f"cannot write {path}: {e.strerror or e}") from None


# ---------------------------------------------------------------- output


def _nagios(code: int, outcomes: list, total: float) -> str:
    up = sum(o.up for o in outcomes)
    n = len(outcomes)
    down = [_one_line(o.p.name) for o in outcomes if not o.up]
    summary = f"{up}/{n} providers up"
    if down:
        summary += f" ({', '.join(down)} down)"
    perf = [f"up={up};;;0;{n}", f"time={total:.3f}s;;;0"]
    for o in outcomes:
        perf.append(f"'{_perf_label(o.p.name)}_time'={o.seconds:.3f}s;;;0")
    lines = [f"RFCTL {STATUS[code]} - {summary} | {' '.join(perf)}"]
    for o in outcomes:
        state = "UP" if o.up else "DOWN"
        ms = "" if o.latency_ms is None else f" {o.latency_ms:.0f} ms"
        lines.append(f"{_one_line(o.p.name)}: {state}{ms} - {_one_line(o.detail)}")
    return "".join(line + "\n" for line in lines)


def _perf_label(name: str) -> str:
    return name.replace("'", "_").replace("=", "_").replace(" ", "_")


def _one_line(text: str) -> str:
    # Nagios splits status from perfdata at "|": keep it out of provider text.
    return " ".join((text or "").split()).replace("|", "/")
