"""The books for one attempt: its usage filled in when the provider reported
none, its price, the summary the caller sees (Attempt) and the one usage-log
record (written through rfctl.usagelog).

A failed attempt costs 0 and carries no token counts: adapters do not carry
usage seen before a failure (a stream cut after billed output undercounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from rfctl.config import ProviderConfig
    from rfctl.providers.base import Result, Usage
    from rfctl.tokens import PromptTokens


@dataclass
class Attempt:
    """One request sent to one provider, as the caller and the log see it."""

    provider: str
    kind: str
    model: str | None
    status: str  # ok | error
    latency_ms: float
    attempt: int = 1
    error: str | None = None
    http_status: int | None = None
    wait_ms: float = 0.0  # backoff slept before this attempt
    ttft_ms: float | None = None
    cost_usd: float | None = 0.0
    price_source: str | None = None  # where cost_usd's price came from (rfctl.cost)

    def as_json(self) -> dict:
        out = {
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
        }
        if self.error:
            out["error"] = self.error
        if self.wait_ms:
            out["wait_ms"] = round(self.wait_ms, 1)
        return out


def settle(
    result: Result,
    provider: ProviderConfig,
    *,
    sent: str | None,
    planned,
    registry,
    prompt: PromptTokens,
) -> tuple[str | None, float | None]:
    """The model that answered and what the answer cost (see settled)."""
    model, cost, _source = settled(
        result, provider, sent=sent, planned=planned, registry=registry, prompt=prompt
    )
    return model, cost


def settled(
    result: Result,
    provider: ProviderConfig,
    *,
    sent: str | None,
    planned,
    registry,
    prompt: PromptTokens,
) -> tuple[str | None, float | None, str | None]:
    """The model that answered, what the answer cost and where its price
    came from. Fills in the usage the provider did not report. A cloud
    answer is priced as the model the provider says it used (a snapshot of
    the one asked for may differ in price), at the price valid now (the
    record's time); a local one as planned (free)."""
    model = result.model or sent or provider.model
    fill_usage(result.usage, result.text, model, prompt)
    if provider.local:
        return model, 0.0, None
    entry = (registry().resolve(model) if model else None) or planned
    return (model, *price_of(result.usage, provider, entry, model))


def price_of(usage: Usage, provider, entry, model: str | None) -> tuple[float | None, str | None]:
    """(USD, price source) for this usage on a configured provider at the
    price valid now (rfctl.cost.price_for: the user's models.yaml, then
    genai-prices, then rfctl's own); (None, None), warned once per model,
    when the price is unknown: never a silent 0."""
    if provider.local:
        return 0.0, None
    from datetime import UTC, datetime

    from rfctl.cost import cost_usd, price_for, warn_unpriced

    found = price_for(provider, entry, model, datetime.now(UTC))
    if found is None and getattr(entry, "free", False):
        return 0.0, None  # a model the registry declares free, priced nowhere
    cost = cost_usd(usage, found, free=False)
    if cost is None:
        warn_unpriced(provider.name, model)
        return None, None
    return cost, found.source


def fill_usage(usage: Usage, text: str, model: str | None, prompt: PromptTokens) -> None:
    """Estimate what the provider did not report (e.g. a stream without a
    usage chunk), and mark the counts as estimates."""
    if usage.input_tokens is not None and usage.output_tokens is not None:
        return
    from rfctl import tokens

    if usage.input_tokens is None:
        usage.input_tokens = prompt.exact(model)
    if usage.output_tokens is None:
        usage.output_tokens = tokens.estimate(text, model)
    usage.reported = False


def price(usage: Usage, entry, *, free: bool, provider: str, model: str | None) -> float | None:
    """USD for this usage at the registry entry's prices; None (warned once
    per model) when the price is unknown: never a silent 0."""
    from rfctl.cost import cost_usd, warn_unpriced

    cost = cost_usd(usage, getattr(entry, "prices", None), free=free)
    if cost is None:
        warn_unpriced(provider, model)
    return cost


def success(
    provider: str,
    kind: str,
    result: Result,
    *,
    model: str | None,
    number: int,
    wait_s: float,
    cost: float | None,
    price_source: str | None = None,
) -> Attempt:
    return Attempt(
        provider,
        kind,
        model,
        "ok",
        result.latency_ms,
        attempt=number,
        http_status=result.http_status,
        wait_ms=wait_s * 1000.0,
        ttft_ms=result.ttft_ms,
        cost_usd=cost,
        price_source=price_source,
    )


def failure(
    provider: str,
    kind: str,
    error,
    *,
    model: str | None,
    number: int,
    wait_s: float,
    latency_ms: float,
) -> Attempt:
    return Attempt(
        provider,
        kind,
        model,
        "error",
        latency_ms,
        attempt=number,
        error=error.short(),
        http_status=error.status,
        wait_ms=wait_s * 1000.0,
        cost_usd=0.0,
    )


def log(
    path: Path,
    request_id: str,
    a: Attempt,
    *,
    stream: bool,
    usage: Usage | None = None,
    finish: str | None = None,
) -> None:
    """Append the attempt's usage record. The ledger must never cost the
    user the answer: a record that cannot be built is a warning."""
    from rfctl import console, usagelog

    try:
        rec = usagelog.UsageRecord(
            ts=usagelog.now_iso(),
            request_id=request_id,
            provider=a.provider,
            kind=a.kind,
            model=a.model,
            status=a.status,
            error=a.error,
            http_status=a.http_status,
            attempt=a.attempt,
            input_tokens=getattr(usage, "input_tokens", None),
            output_tokens=getattr(usage, "output_tokens", None),
            cached_input_tokens=getattr(usage, "cached_input_tokens", None),
            tokens_source=usage.source if usage is not None else None,
            latency_ms=a.latency_ms,
            ttft_ms=a.ttft_ms,
            cost_usd=a.cost_usd,
            price_source=a.price_source,
            stream=stream,
            finish_reason=finish,
        )
    except Exception as e:
        console.warn_once(f"cannot build a usage record: {type(e).__name__}: {e}")
        return
    usagelog.append(path, rec)
