"""Turn genai-prices' bundled database into rfctl's compact price table.

Runs once per installed genai-prices (rfctl/prices.py caches the result), so
it may be slow: the package's data is Python source (genai_prices/data.py)
building pydantic dataclasses, so reading it means importing pydantic (about
half a second). Nothing here touches the network: the package downloads
newer data only when asked to (UpdatePrices), and this never asks.

Output, one JSON document per line (rfctl/prices.py reads the first line at
once and a provider's line only when a model of that provider is priced):

    line 1:  {"key": ..., "source": "genai-prices X", "priced": N, "providers": [
                {"id", "name", "api" (URL regex), "pm" (provider-name clause),
                 "mm" (model-name clause), "fb" (fallback provider ids)}, ...]}
    line 2+: one per provider, same order: [[model id, match clause,
                context window, [period, ...]], ...]

A period is [start date or null, [start, end] UTC times of day or null,
rates or null], tried last to first like genai-prices' ConditionalPrice
list; rates are [input, output, cache read, 5-minute cache write, 1-hour
cache write, tiers, per request] in USD per million tokens (the request fee
in USD), null where the database has no separate price, and tiers [[above, input, output, read, write 5m, write
1h], ...] apply when a request's total input tokens exceed `above`. Rates
null: the model is priced by something other than tokens (audio hours,
pages), so rfctl cannot price it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

# genai-prices price keys, in the order of a rates row. A model with
# cache_write_mtok but no 1-hour price bills 1-hour writes at that rate.
_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok")


def derive(key: dict) -> str:
    """The table's text, from the installed package."""
    import json

    import genai_prices
    from genai_prices import types
    from genai_prices.data import providers

    version = genai_prices.__version__
    header = {"key": key, "source": f"genai-prices {version}", "providers": []}
    lines = []
    priced = 0
    for p in providers:
        header["providers"].append(
            {
                "id": p.id,
                "name": p.name,
                "api": p.api_pattern,
                "pm": _clause(p.provider_match, types),
                "mm": _clause(p.model_match, types),
                "fb": list(p.fallback_model_providers or []),
            }
        )
        models = []
        for m in p.models:
            periods = _periods(m.prices, types)
            if any(r is not None for _, _, r in periods):
                priced += 1
            models.append([m.id, _clause(m.match, types), m.context_window, periods])
        lines.append(json.dumps(models, separators=(",", ":")))
    header["priced"] = priced  # (provider, model) pairs with a per-token price
    return "\n".join([json.dumps(header, separators=(",", ":")), *lines]) + "\n"


def _clause(c, types):
    """A match clause as JSON: {"starts_with": s}, {"or": [...]}, ..."""
    if c is None:
        return None
    if isinstance(c, types.ClauseOr):
        return {"or": [_clause(x, types) for x in c.or_]}
    if isinstance(c, types.ClauseAnd):
        return {"and": [_clause(x, types) for x in c.and_]}
    for name in ("starts_with", "ends_with", "contains", "regex", "equals"):
        if hasattr(c, name):
            return {name: getattr(c, name)}
    raise ValueError(f"unknown genai-prices match clause {c!r}")


def _periods(prices, types) -> list:
    if isinstance(prices, types.ModelPrice):
        return [[None, None, _rates(prices, types)]]
    out = []
    for cp in prices:
        start = tod = None
        c = cp.constraint
        if isinstance(c, types.StartDateConstraint):
            start = c.start_date.isoformat()
        elif isinstance(c, types.TimeOfDateConstraint):
            tod = [_utc_time(c.start_time), _utc_time(c.end_time)]
        elif c is not None:
            raise ValueError(f"unknown genai-prices price constraint {c!r}")
        out.append([start, tod, _rates(cp.prices, types)])
    return out


def _utc_time(t: time) -> str:
    """HH:MM:SS in UTC (naive times are UTC, as in genai-prices)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return datetime.combine(date(1970, 1, 1), t).astimezone(UTC).strftime("%H:%M:%S")


def _rates(mp, types) -> list | None:
    values = {k: v for k, v in vars(mp).items() if not k.startswith("_") and v is not None}
    if not values:
        return [0.0, 0.0, None, None, None, [], None]  # no price at all: free (":free" models)
    if "input_mtok" not in values:
        return None  # audio hours, pages, requests: not priced per token
    raw = [values.get(k) for k in _KEYS]
    if values.get("cache_write_5m_mtok") is not None:
        raw[3] = values["cache_write_5m_mtok"]
    if raw[1] is None:
        raw[1] = Decimal(0)  # embeddings: no output tokens to bill
    tiered = [v for v in raw if isinstance(v, types.TieredPrices)]
    base = [_num(v.base if isinstance(v, types.TieredPrices) else v) for v in raw]
    # One row per threshold any unit changes at; each unit's rate there is its
    # own last tier that starts at or below it (genai-prices: all tokens of a
    # unit pay the rate of the highest tier the total input exceeds).
    starts = sorted({t.start for v in tiered for t in v.tiers})
    tiers = []
    for s in starts:
        row = [s]
        for v, b in zip(raw, base, strict=True):
            if isinstance(v, types.TieredPrices):
                rate = v.base
                for t in sorted(v.tiers, key=lambda t: t.start):
                    if t.start <= s:
                        rate = t.price
                row.append(_num(rate))
            else:
                row.append(b)
        tiers.append(row)
    fee = values.get("requests_kcount")  # USD per thousand requests (Perplexity)
    if isinstance(fee, types.TieredPrices):
        fee = fee.base
    return [*base, tiers, None if fee is None else float(fee) / 1000]


def _num(v) -> float | None:
    return None if v is None else float(v)
