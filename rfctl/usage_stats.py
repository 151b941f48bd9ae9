"""Questions asked of the usage log: which records (time window, providers,
models), grouped how, and what they add up to.

Streaming: records are folded into one Group per key as they are read, so
memory grows with the number of groups, never with the number of records.
Latency percentiles come from a log-bucketed histogram (relative error at most
1%), not from a list of every latency.

Records are anything with the attributes the usage-log readers decode
(rfctl.usagelog.iter_batches): ts, provider, model, status, attempt,
input_tokens, output_tokens, cached_input_tokens, latency_ms, cost_usd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

BY_FIELDS = ("provider", "model", "day", "hour", "status")

# Prometheus histogram bounds, seconds: LLM calls run from 100 ms to minutes.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

# The figures of a group, in output order.
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


# ---------------------------------------------------------------- time bounds


def parse_when(text: str, option: str = "--since") -> str:
    """A bound as the log writes timestamps ('2026-11-29T00:00:00.000Z'), so
    filtering is a string comparison per record. Accepts a duration back from
    now (30m, 24h, 7d, 2w), 'today', 'yesterday', or an ISO date or time (no
    zone means UTC, like the log)."""
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


@dataclass
class Filters:
    """Which records count: since inclusive, until exclusive (both in the
    log's timestamp format), and sets of providers and models (None: all)."""

    since: str | None = None
    until: str | None = None
    providers: set[str] | None = None
    models: set[str] | None = None

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


# ---------------------------------------------------------------- latency


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


# ---------------------------------------------------------------- groups


@dataclass(slots=True)  # slots: the fold below reads and writes these per record
class Group:
    """What the records of one group add up to."""

    ok: int = 0
    errors: int = 0
    input_tokens: int = 0  # includes cached_input_tokens
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0  # of the priced records
    unpriced: int = 0  # records whose price is unknown (cost_usd null)
    fallbacks: int = 0  # ok records answered by a provider other than the first tried
    retried: int = 0  # ok records answered by the first provider after a retry
    cached: int = 0  # ok records answered from the response cache (nothing sent)
    saved_usd: float = 0.0  # what the caches saved (saved_usd of the records)
    latency: dict[int, int] = field(default_factory=dict)  # Sketch counts
    # Prometheus: fixed-bucket counts of every attempt's duration (one per
    # DURATION_BUCKETS bound, plus +Inf), and their sum in ms; None otherwise.
    durations: list[int] | None = None
    duration_sum_ms: float = 0.0

    @classmethod
    def new(cls, prometheus: bool = False) -> Group:
        g = cls()
        if prometheus:
            g.durations = [0] * (len(DURATION_BUCKETS) + 1)
        return g

    def add(self, other: Group) -> None:
        """Fold another group's figures into this one."""
        self.ok += other.ok
        self.errors += other.errors
        self.input_tokens += other.input_tokens
        self.cached_input_tokens += other.cached_input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd
        self.cached += other.cached
        self.saved_usd += other.saved_usd
        self.unpriced += other.unpriced
        self.fallbacks += other.fallbacks
        self.retried += other.retried
        for index, count in other.latency.items():
            self.latency[index] = self.latency.get(index, 0) + count
        if other.durations is not None:
            if self.durations is None:
                self.durations = [0] * len(other.durations)
            self.durations = [a + b for a, b in zip(self.durations, other.durations, strict=True)]
        self.duration_sum_ms += other.duration_sum_ms

    def columns(self) -> dict:
        """The COLUMNS of this group, rounded as they are printed."""
        return {
            "ok": self.ok,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 9),
            "unpriced": self.unpriced,
            "p50_ms": _round(Sketch.quantile(self.latency, 0.5)),
            "p95_ms": _round(Sketch.quantile(self.latency, 0.95)),
            # JSON and the terminal table only: the TSV and CSV columns stay as they were.
            "cached": self.cached,
            "saved_usd": round(self.saved_usd, 9),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


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
) -> dict[tuple, Group]:
    """Fold batches of records into {group key: Group}. latency_all feeds
    every attempt to the latency sketch, not only successful ones; prometheus
    counts durations in DURATION_BUCKETS instead."""
    from bisect import bisect_left

    filters = filters or Filters()
    accept = filters.accepts if filters.active else None
    key = _key_function(by)
    groups: dict[tuple, Group] = {}
    log = math.log
    k = 1 / math.log(Sketch.GAMMA)
    offset, smallest = Sketch.OFFSET, Sketch.MIN
    bounds_ms = [b * 1000 for b in DURATION_BUCKETS]
    new = Group.new
    for batch in batches:
        for r in batch:
            if accept is not None and not accept(r):
                continue
            gk = key(r)
            g = groups.get(gk)
            if g is None:
                g = groups[gk] = new(prometheus)
            ok = r.status == "ok"
            if ok:
                g.ok += 1
                if r.attempt > 1:
                    # Records written before the field existed count as fallbacks.
                    if r.fallback is False:
                        g.retried += 1
                    else:
                        g.fallbacks += 1
            else:
                g.errors += 1
            x = r.input_tokens
            if x:
                g.input_tokens += x
            x = r.output_tokens
            if x:
                g.output_tokens += x
            x = r.cached_input_tokens
            if x:
                g.cached_input_tokens += x
            x = r.cost_usd
            if x is None:
                g.unpriced += 1
            else:
                g.cost_usd += x
            x = r.saved_usd
            if x:
                g.saved_usd += x
            if r.cached:  # no request was sent: its latency is the cache's, not a provider's
                g.cached += 1
                continue
            lat = r.latency_ms
            if prometheus:  # fixed buckets instead of the percentile sketch
                g.durations[bisect_left(bounds_ms, lat)] += 1
                g.duration_sum_ms += lat
            elif ok or latency_all:
                i = int(log(lat) * k) + offset if lat > smallest else 0
                s = g.latency
                s[i] = s.get(i, 0) + 1
    return groups


def group_sort_key(key: tuple) -> tuple:
    """Groups in key order; a missing model (None) sorts first."""
    return tuple("" if v is None else v for v in key)


def summarise(groups: dict[tuple, Group], by: list[str]) -> list[dict]:
    """One dict per group (group fields first, then COLUMNS), sorted by group.
    With no grouping there is always exactly one row, zeros when nothing matched."""
    if not by and not groups:
        groups = {(): Group.new()}
    rows = []
    for key in sorted(groups, key=group_sort_key):
        row = dict(zip(by, key, strict=True))
        row.update(groups[key].columns())
        rows.append(row)
    return rows


def total(groups: dict[tuple, Group]) -> dict:
    """All groups together; latency percentiles from the merged histograms."""
    merged = Group.new()
    for g in groups.values():
        merged.add(g)
    return merged.columns()


def by_provider_model(groups: dict[tuple, Group]) -> dict[tuple, Group]:
    """Groups keyed by (provider, model, status) merged into (provider, model),
    in key order."""
    out: dict[tuple, Group] = {}
    for (provider, model, _status), g in sorted(
        groups.items(), key=lambda kv: group_sort_key(kv[0])
    ):
        out.setdefault((provider, model), Group.new()).add(g)
    return out
