"""What an attempt cost, in USD: which price applies, and the arithmetic.

Where a call's price comes from, the first that has one wins (price_for):

    1. the user's models.yaml prices for the model          source "user"
    2. the genai-prices database, for the provider serving   "genai-prices X.Y.Z"
       the call: its price_provider, else "anthropic" or
       "openai" by kind, else the database's provider for an
       openai-compatible base URL (api.groq.com, openrouter.ai)
    3. rfctl's shipped models.yaml                           "rfctl"

The arithmetic (rfctl.prices.cost) bills every token in exactly one bucket,
plus tiers and per-request fees where the price has them:

    uncached input  = input - cache reads - cache writes   at the input price
    cache reads     = cached_input_tokens                  at cached_input (else input)
    5-minute writes = cache_write_tokens - 1-hour writes   at cache_write (else input)
    1-hour writes   = cache_write_1h_tokens                at 2x input (Anthropic's rate)
    output          = output_tokens (reasoning included)   at the output price

Only a call that is not free asks for a price: a local provider costs 0.0 by
declaration and never loads the price table. Registry prices, which have no
1-hour rate of their own, bill 1-hour cache writes at WRITE_1H times input.
A model with no known price costs None, which the log writes as null: never
a silent 0.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # neither is imported at run time by this module
    from rfctl.prices import Price
    from rfctl.providers.base import Usage

PER = 1_000_000  # prices are USD per million tokens
WRITE_1H = 2.0  # a 1-hour cache write costs twice the base input price
_BY_KIND = {"anthropic": "anthropic", "openai": "openai"}


def price_provider(provider) -> str | None:
    """The price database's provider for a configured provider: its
    price_provider, else its kind's vendor, else (openai-compatible) the
    provider the base URL's host belongs to. None: rfctl's own prices only."""
    named = getattr(provider, "price_provider", None)
    if named:
        return named
    kind = getattr(provider, "kind", None)
    if kind in _BY_KIND:
        return _BY_KIND[kind]
    if kind == "openai-compatible":
        from rfctl.prices import provider_for_url

        return provider_for_url(getattr(provider, "base_url", None))
    return None


def price_for(provider, entry, model: str | None, when: datetime | None = None) -> Price | None:
    """The price of `model` (as the provider named it) on `provider` at
    `when` (default now); `entry` is its registry entry, or None."""
    own = getattr(entry, "prices", None)
    if own is not None and getattr(own, "source", "rfctl") == "user":
        return _registry_price(own, "user")
    pid = price_provider(provider)
    if pid:
        from rfctl.prices import price_table

        table = price_table()
        names = dict.fromkeys(n for n in (model, getattr(entry, "id", None)) if n)
        for name in names:  # the name served, then the registry's id for it
            found = table.lookup(pid, name, when)
            if found is not None:
                return found
    return _registry_price(own, "rfctl") if own is not None else None


def _registry_price(prices, source: str) -> Price:
    """A registry entry's prices as a prices.Price. The registry has no
    1-hour cache-write price: those writes cost WRITE_1H times the input
    price (Anthropic's rate; no other vendor reports them)."""
    from dataclasses import replace

    from rfctl.prices import from_registry

    return replace(from_registry(prices, source), cache_write_1h=prices.input * WRITE_1H)


def _as_price(prices) -> Price | None:
    """A prices.Price from either shape (rfctl.registry.Prices too)."""
    if prices is None:
        return None
    from rfctl.prices import Price

    if isinstance(prices, Price):
        return prices
    return _registry_price(prices, getattr(prices, "source", "rfctl"))


def cost_usd(usage: Usage, prices, *, free: bool) -> float | None:
    """The cost of one attempt at `prices` (a prices.Price or registry
    Prices); None when unknown (no prices, or no token counts at all)."""
    if free:
        return 0.0
    price = _as_price(prices)
    if price is None:
        return None
    if usage.input_tokens is None and usage.output_tokens is None:
        return None
    from rfctl.prices import cost

    return cost(usage, price)


def estimate_cost(input_tokens: int, max_output_tokens: int, prices, *, free: bool) -> float | None:
    """Worst case before sending, for --max-cost, budgets and the cost
    strategy: every input token uncached, and the whole max_output_tokens
    spent. None when the price is unknown."""
    if free:
        return 0.0
    price = _as_price(prices)
    if price is None:
        return None
    from rfctl.prices import estimate

    return estimate(input_tokens, max_output_tokens, price)


def warn_unpriced(provider: str, model: str | None) -> None:
    """One warning per model per process: its cost is logged as null."""
    from rfctl import console

    console.warn_once(
        f"no price known for {model or 'the model'} on {provider}: "
        "cost_usd logged as null (add prices in models.yaml, or set price_provider)"
    )
