"""`rfctl usage --reprice`: each record's cost computed again from its
recorded tokens at today's price data, for the output only (the log is
append-only and never rewritten).

A record is priced as it would be now (rfctl.cost.price_for: the user's
models.yaml, then genai-prices, then rfctl's own), at the price valid at the
record's own timestamp, by its provider's current config (price_provider,
kind, base URL). What cost nothing stays at 0: failed attempts, local
providers, answers from the cache. A provider no longer configured is priced
from the registry alone. Cache writes are priced by the split the record
carries (cache_write_1h_tokens at the 1-hour rate, the rest at the 5-minute
one); a record written before the split was logged has all at 5 minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime


def repriced(batches: Iterable[list], cfg, reg) -> Iterator[list]:
    """The batches of records, each record's cost_usd recomputed in place."""
    from rfctl.cost import cost_usd, price_for

    memo: dict[tuple, object] = {}
    for batch in batches:
        for r in batch:
            if r.status != "ok" or r.cost_usd == 0:
                continue
            p = cfg.providers.get(r.provider)
            if p is not None and p.local:
                r.cost_usd = 0.0
                continue
            key = (r.provider, r.model, r.ts[:16])  # prices change by day, a few by time of day
            if key not in memo:
                entry = reg.resolve(r.model) if r.model else None
                memo[key] = price_for(p, entry, r.model, _when(r.ts))
            r.cost_usd = cost_usd(r, memo[key], free=False)
        yield batch


def _when(ts: str) -> datetime | None:
    try:
        return datetime.fromisoformat(ts)
    except ValueError:
        return None
