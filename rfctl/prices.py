"""Cloud model prices from genai-prices, read without importing it.

genai-prices (pydantic's MIT-licensed price database, pinned exactly in
pyproject.toml) carries historic price changes, cache read/write prices by
TTL and tiered prices for a few thousand models across some fifty providers
and gateways. Importing it costs half a second (pydantic), too much for
`generate`, so rfctl/prices_derive.py turns it into a compact table once per
installed version, cached as
    CACHE_DIR/prices-genai-<version>.json
keyed by the version, the bundled data file's stat data and this code's; a
load reads that file and decodes one short header line (well under 5 ms,
bench/prices measures it), and a provider's models only when one is priced.
The database is never updated over the network.

Everything here is a pure function of the table: lookup(provider, model,
when) finds the price valid at `when` (a usage record's timestamp), and
cost(usage, price) turns token counts into dollars:

    uncached input   = input - cache reads - cache writes   at input
    cache reads      = cached_input_tokens                  at cache_read (else input)
    5-minute writes  = cache_write_tokens - 1-hour writes   at cache_write_5m (else input)
    1-hour writes    = cache_write_1h_tokens                at cache_write_1h (else 5m)
    output           = output_tokens (reasoning included)   at output
    plus a per-request fee where the provider charges one

at the rates of the highest tier whose threshold the request's total input
tokens exceed (a tier prices every token of the request, as the providers
bill it: 200,001 input tokens are all billed at the above-200K rate).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PER = 1_000_000  # prices are USD per million tokens
PACKAGE = "genai_prices"
_FORMAT = 2


@dataclass(frozen=True)
class Tier:
    """The rates of a request whose total input tokens exceed `above`."""

    above: int
    input: float
    output: float
    cache_read: float | None = None
    cache_write_5m: float | None = None
    cache_write_1h: float | None = None


@dataclass(frozen=True)
class Price:
    """USD per million tokens. None: no separate price (see cost())."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write_5m: float | None = None
    cache_write_1h: float | None = None
    tiers: tuple[Tier, ...] = ()
    per_request: float | None = None  # USD per request on top of the tokens (Perplexity)
    source: str = "rfctl"  # "genai-prices X.Y.Z" | "user" | "rfctl"
    as_of: str | None = None  # ISO date this price took effect, when the source says
    until: str | None = None  # ISO date of the next scheduled change, if any
    model_id: str | None = None  # the source's id for the model
    provider_id: str | None = None  # the source's id for the provider
    context: int | None = None  # context window, where the source has one

    def rates_at(self, input_tokens: int) -> Price | Tier:
        """The rates a request with this many input tokens (cache included) pays."""
        chosen: Price | Tier = self
        for tier in self.tiers:  # ascending
            if input_tokens > tier.above:
                chosen = tier
        return chosen


def from_registry(prices, source: str = "rfctl") -> Price | None:
    """A Price from rfctl's own registry prices (rfctl.registry.Prices or
    anything with its fields: input, output, cached_input, cache_write
    (5-minute), as_of), labelled "rfctl" (shipped) or "user" (the user's
    models.yaml). The registry has no 1-hour or tiered prices."""
    if prices is None:
        return None
    return Price(
        input=prices.input,
        output=prices.output,
        cache_read=getattr(prices, "cached_input", None),
        cache_write_5m=getattr(prices, "cache_write", None),
        source=source,
        as_of=getattr(prices, "as_of", None),
    )


def cost(usage, price: Price) -> float:
    """The cost in USD of one request's tokens. `usage` is a mapping or an
    object with input_tokens (the total, cache included), output_tokens,
    cached_input_tokens (reads), cache_write_tokens (all writes) and
    cache_write_1h_tokens (the 1-hour part of the writes); missing is 0."""
    if isinstance(usage, Mapping):
        get = usage.get
    else:

        def get(name):
            return getattr(usage, name, None)

    total_in = get("input_tokens") or 0
    reads = get("cached_input_tokens") or 0
    w1h = get("cache_write_1h_tokens") or 0
    writes = max(get("cache_write_tokens") or 0, w1h)
    r = price.rates_at(total_in)
    read_rate = r.cache_read if r.cache_read is not None else r.input
    w5_rate = r.cache_write_5m if r.cache_write_5m is not None else r.input
    w1h_rate = r.cache_write_1h if r.cache_write_1h is not None else w5_rate
    # max(): fields that do not add up must not turn into a refund.
    uncached = max(total_in - reads - writes, 0)
    return (
        uncached * r.input
        + reads * read_rate
        + (writes - w1h) * w5_rate
        + w1h * w1h_rate
        + (get("output_tokens") or 0) * r.output
    ) / PER + (price.per_request or 0.0)


def estimate(input_tokens: int, max_output_tokens: int, price: Price) -> float:
    """Worst case before sending (--max-cost, budgets, the cost strategy):
    every input token uncached and all of max_output_tokens spent."""
    n = max(input_tokens, 0)
    r = price.rates_at(n)
    return (n * r.input + max(max_output_tokens, 0) * r.output) / PER + (price.per_request or 0.0)


# ---------------------------------------------------------------- matching

# LiteLLM and OpenRouter spell dated snapshots gpt-5.2-20251211; the database
# matches gpt-5.2-2025-12-11. Tried only when the name does not match as is.
_COMPACT_DATE = re.compile(r"(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)")


def _dashed_dates(ref: str) -> str:
    return _COMPACT_DATE.sub(lambda m: f"{m[1]}{m[2]}-{m[3]}-{m[4]}", ref)


def _never(_: str) -> bool:
    return False


def _matcher(clause):
    """A predicate on a lower-case name from a genai-prices match clause."""
    if not clause:
        return _never
    ((kind, value),) = clause.items()
    if kind in ("or", "and"):
        parts = [_matcher(c) for c in value]
        if kind == "or":
            return lambda s: any(p(s) for p in parts)
        return lambda s: all(p(s) for p in parts)
    if kind == "regex":
        rx = re.compile(value)
        return lambda s: rx.search(s) is not None
    v = value.lower()
    if kind == "starts_with":
        return lambda s: s.startswith(v)
    if kind == "ends_with":
        return lambda s: s.endswith(v)
    if kind == "contains":
        return lambda s: v in s
    if kind == "equals":
        return lambda s: s == v
    raise ValueError(f"unknown match clause {kind!r}")


def _exact_names(clause) -> list[str] | None:
    """The names a clause of `equals` (alone or or-ed) accepts; None for any other clause."""
    if not clause:
        return None
    ((kind, value),) = clause.items()
    if kind == "equals":
        return [value.lower()]
    if kind == "or":
        names = []
        for c in value:
            part = _exact_names(c)
            if part is None:
                return None
            names += part
        return names
    return None


class _Models:
    """One provider's models, matched first to last as genai-prices does.
    Most clauses are exact names (1264 of OpenRouter's 1548 leaves), so
    those go in a dict and only the others are tried one by one, each built
    into a predicate on first use."""

    def __init__(self, raw: list):
        self.raw = raw
        self._exact: dict[str, int] = {}
        self._other: list[int] = []
        self._predicates: dict[int, object] = {}
        for n, m in enumerate(raw):
            names = _exact_names(m[1])
            if names is None:
                self._other.append(n)
            else:
                for name in names:
                    self._exact.setdefault(name, n)

    def match(self, ref: str):
        first = self._exact.get(ref, len(self.raw))
        for n in self._other:
            if n > first:
                break
            pred = self._predicates.get(n)
            if pred is None:
                pred = self._predicates[n] = _matcher(self.raw[n][1])
            if pred(ref):
                return self.raw[n]
        return self.raw[first] if first < len(self.raw) else None


_LOOPBACK = re.compile(r"^(?:localhost|127(?:\.\d+){3}|\[?::1\]?|0\.0\.0\.0)$")


# ---------------------------------------------------------------- the table


class PriceTable:
    """The derived table: providers up front, each provider's models decoded
    on first use."""

    def __init__(self, header: dict | None = None, lines: list[bytes] | None = None):
        header = header or {}
        self.source: str | None = header.get("source")  # None: no database installed
        self.priced: int = header.get("priced", 0)
        self._providers: list[dict] = header.get("providers", [])
        self._lines = lines or []
        self._by_id = {p["id"]: i for i, p in enumerate(self._providers)}
        self._models: dict[int, list] = {}
        self._found: dict[tuple[int, str], tuple | None] = {}
        self._patterns: list | None = None
        self._pm: list | None = None
        self._mm: list | None = None

    def __bool__(self) -> bool:
        return bool(self._providers)

    # -- providers

    def providers(self) -> list[str]:
        return [p["id"] for p in self._providers]

    def provider_id(self, name: str | None) -> str | None:
        """The database's id for a provider name (`price_provider = "..."`):
        the id itself, or a spelling its provider_match accepts (together-ai,
        xai, bedrock). None when unknown."""
        if not name:
            return None
        key = name.strip().lower()
        if key in self._by_id:
            return key
        if self._pm is None:
            self._pm = [_matcher(p.get("pm")) for p in self._providers]
        for p, match in zip(self._providers, self._pm, strict=True):
            if match(key):
                return p["id"]
        return None

    def provider_for_url(self, base_url: str | None) -> str | None:
        """The provider serving an API base URL, by the database's own URL
        patterns (api.groq.com -> groq, openrouter.ai -> openrouter). A
        loopback server is never a paid provider."""
        if not base_url or not base_url.strip():
            return None
        url = base_url.strip()
        if "://" not in url:
            url = "https://" + url
        scheme, rest = url.split("://", 1)
        netloc, _, path = rest.partition("/")
        hostport = netloc.rsplit("@", 1)[-1].lower()
        host = hostport if hostport.startswith("[") else hostport.rsplit(":", 1)[0]
        if _LOOPBACK.match(host):
            return None
        # The patterns are written for https and a default port.
        candidates = [f"https://{hostport}/{path}", f"https://{host}/{path}"]
        if scheme.lower() != "https":
            candidates.append(f"{scheme.lower()}://{hostport}/{path}")
        if self._patterns is None:
            self._patterns = [re.compile(p["api"]) for p in self._providers]
        for p, rx in zip(self._providers, self._patterns, strict=True):
            if any(rx.match(c) for c in candidates):
                return p["id"]
        return None

    def _provider_for_model(self, ref: str) -> int | None:
        if self._mm is None:
            self._mm = [_matcher(p.get("mm")) for p in self._providers]
        for i, match in enumerate(self._mm):
            if match(ref):
                return i
        return None

    # -- models

    def models(self, provider_id: str) -> list[str]:
        """The database's model ids for one provider."""
        i = self._by_id.get(provider_id)
        return [] if i is None else [m[0] for m in self._provider_models(i).raw]

    def _provider_models(self, i: int) -> _Models:
        models = self._models.get(i)
        if models is None:
            try:
                raw = json.loads(self._lines[i])
            except (IndexError, ValueError):  # a damaged cache: this provider is unknown
                raw = []
            models = _Models(raw)
            self._models[i] = models
        return models

    def _match(self, i: int, ref: str, fallback: bool):
        m = self._provider_models(i).match(ref)
        if m is not None:
            return m, i
        if fallback:
            for fid in self._providers[i].get("fb") or ():
                j = self._by_id.get(fid)
                if j is not None and (hit := self._match(j, ref, False)) is not None:
                    return hit
        return None

    def _find(self, i: int, ref: str):
        key = (i, ref)
        if key not in self._found:
            hit = self._match(i, ref, True)
            if hit is None and (dashed := _dashed_dates(ref)) != ref:
                hit = self._match(i, dashed, True)
            self._found[key] = hit
        return self._found[key]

    def lookup(
        self, provider_id: str | None, model: str | None, when: datetime | None = None
    ) -> Price | None:
        """The price of `model` on `provider_id` (a database id or a name
        provider_id() accepts; None: guess from the model name) valid at
        `when` (default now; naive is UTC). None when the database does not
        price it per token."""
        if not model or not model.strip() or not self._providers:
            return None
        ref = model.strip().lower()
        if provider_id:
            pid = self.provider_id(provider_id)
            if pid is None:
                return None
            i = self._by_id[pid]
        else:
            i = self._provider_for_model(ref)
        hit = self._find(i, ref) if i is not None else None
        if hit is None and "/" in ref:
            # A gateway's spelling (openai/gpt-4o, google/gemini-2.5-pro): the
            # rest of the name, when the prefix names a provider; other
            # prefixes (meta-llama/, accounts/) are part of the model's name.
            prefix, rest = ref.split("/", 1)
            named = self.provider_id(prefix)
            if named is not None:
                if i is None:
                    i = self._by_id[named]
                hit = self._find(i, rest)
        if hit is None:
            return None
        (model_id, _, context, periods), _served_by = hit
        return self._price(self._providers[i]["id"], model_id, context, periods, when)

    def _price(self, pid, model_id, context, periods, when) -> Price | None:
        when = when or datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        when = when.astimezone(UTC)
        day = when.date().isoformat()
        clock = when.strftime("%H:%M:%S")
        chosen = periods[0]
        for period in reversed(periods):  # the last active period wins
            if _active(period, day, clock):
                chosen = period
                break
        start, _, rates = chosen
        if rates is None:
            return None
        later = [p[0] for p in periods if p[0] is not None and p[0] > day]
        inp, out, read, w5, w1h, tiers, fee = rates
        return Price(
            input=inp,
            output=out,
            cache_read=read,
            cache_write_5m=w5,
            cache_write_1h=w1h,
            tiers=tuple(Tier(*t) for t in tiers),
            per_request=fee,
            source=self.source or "",
            as_of=start,
            until=min(later) if later else None,
            model_id=model_id,
            provider_id=pid,
            context=context,
        )


def _active(period, day: str, clock: str) -> bool:
    start, tod, _ = period
    if start is not None:
        return day >= start
    if tod is not None:
        begin, end = tod
        if end < begin:  # the window crosses midnight
            return clock >= begin or clock < end
        return begin <= clock < end
    return True


# ---------------------------------------------------------------- loading

_memo: dict[str, PriceTable] = {}


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/rfctl, where the registry cache lives too."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rfctl"


def price_table(cache_dir=None) -> PriceTable:
    """The derived table for the installed genai-prices, deriving it on the
    first call after an install or upgrade. An empty table (falsy, source
    None) when the package is not installed or cannot be read: callers then
    price from rfctl's own registry."""
    installed = _installed()
    if installed is None:
        return PriceTable()
    version, data = installed
    here = Path(__file__)
    key = {
        "format": _FORMAT,
        "version": version,
        "data": _stamp(data),
        "code": [_stamp(here), _stamp(here.with_name("prices_derive.py"))],
    }
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache / f"prices-genai-{version}.json"
    # The table depends on the installed package only: one load per process,
    # whichever cache directory it was read from.
    memo_key = json.dumps(key)
    table = _memo.get(memo_key)
    if table is None:
        table = _read(path, key)
        if table is None:
            table = _derive(path, key)
        if table:
            _memo[memo_key] = table
    return table


def _installed() -> tuple[str, Path] | None:
    """(version, bundled data file) of the importable genai-prices, found
    without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    pkg = Path(next(iter(spec.submodule_search_locations)))
    data = pkg / "data.py"
    if not data.is_file():
        return None
    version = "unknown"
    try:
        for name in os.listdir(pkg.parent):
            if name.startswith(PACKAGE + "-") and name.endswith(".dist-info"):
                version = name[len(PACKAGE) + 1 : -len(".dist-info")]
                break
    except OSError:
        pass
    return version, data


def _stamp(path: Path) -> list:
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None]
    return [str(path), st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


def _parse(body: bytes, key: dict) -> PriceTable | None:
    first, _, rest = body.partition(b"\n")
    try:
        header = json.loads(first)
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("key") != key:
        return None
    lines = rest.split(b"\n")
    providers = header.get("providers")
    if not isinstance(providers, list) or len(lines) != len(providers) + 1 or lines[-1]:
        return None  # cut short or edited: derive again
    return PriceTable(header, lines[:-1])


def _read(path: Path, key: dict) -> PriceTable | None:
    try:
        with open(path, "rb") as f:
            body = f.read()
    except OSError:
        return None
    return _parse(body, key)


def _derive(path: Path, key: dict) -> PriceTable:
    import contextlib

    from rfctl.atomic import write_file_atomic
    from rfctl.console import warn_once

    try:
        from rfctl.prices_derive import derive

        text = derive(key)
    except Exception as e:  # noqa: BLE001 - a broken database must not break rfctl
        warn_once(
            f"cannot read the genai-prices database ({type(e).__name__}: {e}); "
            "using rfctl's own prices"
        )
        return PriceTable()
    # A cache: a read-only or full disk only means deriving again next time.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(path, text, durable=False)
    return _parse(text.encode("utf-8"), key) or PriceTable()


def provider_for_url(base_url: str | None, table: PriceTable | None = None) -> str | None:
    """The price database's provider for an API base URL (see
    PriceTable.provider_for_url); the default table when none is given."""
    return (table if table is not None else price_table()).provider_for_url(base_url)
