"""What an attempt cost, in USD, from its token usage and the model's prices.

Every token is billed in exactly one bucket. Usage.input_tokens is the total
input (the adapters normalise Anthropic's split fields to this), so:

    uncached input  = input - cache reads - cache writes   at the input price
    cache reads     = cached_input_tokens                  at cached_input (else input)
    5-minute writes = cache_write_tokens - 1-hour writes   at cache_write (else input)
    1-hour writes   = cache_write_1h_tokens                at 2x input (Anthropic's rate)
    output          = output_tokens (reasoning included)   at the output price

Local kinds are free by declaration (0.0). A model with no known price costs
None, which the log writes as null: never a silent 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the registry is not imported at run time by this module
    from rfctl.providers.base import Usage
    from rfctl.registry import Prices

PER = 1_000_000  # prices are USD per million tokens
WRITE_1H = 2.0  # a 1-hour cache write costs twice the base input price


def cost_usd(usage: Usage, prices: Prices | None, *, free: bool) -> float | None:
    """The cost of one attempt; None when unknown (no prices, or no token
    counts at all)."""
    if free:
        return 0.0
    if prices is None:
        return None
    if usage.input_tokens is None and usage.output_tokens is None:
        return None
    total_in = usage.input_tokens or 0
    reads = usage.cached_input_tokens or 0
    writes = usage.cache_write_tokens or 0
    writes_1h = min(getattr(usage, "cache_write_1h_tokens", None) or 0, writes)
    # max(): a provider's fields that do not add up must not turn into a refund.
    uncached = max(total_in - reads - writes, 0)
    read_price = prices.cached_input if prices.cached_input is not None else prices.input
    write_price = prices.cache_write if prices.cache_write is not None else prices.input
    return (
        uncached * prices.input
        + reads * read_price
        + (writes - writes_1h) * write_price
        + writes_1h * prices.input * WRITE_1H
        + (usage.output_tokens or 0) * prices.output
    ) / PER


def estimate_cost(
    input_tokens: int, max_output_tokens: int, prices: Prices | None, *, free: bool
) -> float | None:
    """Worst case before sending, for --max-cost, budgets and the cost
    strategy: every input token uncached, and the whole max_output_tokens
    spent. None when the price is unknown."""
    if free:
        return 0.0
    if prices is None:
        return None
    return (max(input_tokens, 0) * prices.input + max(max_output_tokens, 0) * prices.output) / PER


def warn_unpriced(provider: str, model: str | None) -> None:
    """One warning per model per process: its cost is logged as null."""
    from rfctl import console

    console.warn_once(
        f"no price known for {model or 'the model'} on {provider}: "
        "cost_usd logged as null (add prices in models.yaml)"
    )
