"""The books for one attempt: its usage filled in when the provider reported
none, its price, the summary the caller sees (Attempt) and the one usage-log
record (written through rfctl.usagelog).

A failed attempt costs 0 and carries no token counts: adapters do not carry
usage seen before a failure (a stream cut after billed output undercounts).
The exception is an answer that came back whole but did not validate
against --schema: its tokens were billed, so its record carries the usage
the provider reported (cost unknown, null, unless the provider is local).

Attachments are recorded by count and bytes (what the adapter sent), never
their content or names.
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
    attachments: int | None = None  # files sent with the prompt
    attachment_bytes: int | None = None
    usage: Usage | None = None  # a failed attempt's billed usage (an invalid answer)

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
    """The model that answered and what the answer cost. Fills in the usage
    the provider did not report. A cloud answer is priced as the model the
    provider says it used (a snapshot of the one asked for may differ in
    price); a local one as planned (free)."""
    model = result.model or sent or provider.model
    fill_usage(result.usage, result.text, model, prompt)
    entry = registry().resolve(model) if model and not provider.local else planned
    if entry is None:
        entry = planned
    free = provider.local or bool(getattr(entry, "free", False))
    return model, price(result.usage, entry, free=free, provider=provider.name, model=model)


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
        attachments=result.attachments,
        attachment_bytes=result.attachment_bytes,
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
    # An answer that did not validate was billed all the same: keep its usage.
    answered = getattr(error, "answer", None)
    usage = answered.usage if answered is not None and answered.usage.reported else None
    cost = 0.0
    if usage is not None:
        from rfctl.config import LOCAL_KINDS

        cost = 0.0 if kind in LOCAL_KINDS else None
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
        cost_usd=cost,
        attachments=getattr(error, "attachments", None),
        attachment_bytes=getattr(error, "attachment_bytes", None),
        usage=usage,
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

    if usage is None:
        usage = a.usage
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
            stream=stream,
            finish_reason=finish,
            reasoning_tokens=getattr(usage, "reasoning_tokens", None),
            attachments=a.attachments,
            attachment_bytes=a.attachment_bytes,
            **prompt_cache_fields(usage),
        )
    except Exception as e:
        console.warn_once(f"cannot build a usage record: {type(e).__name__}: {e}")
        return
    usagelog.append(path, rec)


def prompt_cache_fields(usage: Usage | None) -> dict:
    """cache_write_tokens and cache_read_tokens, when the provider's prompt
    cache wrote or read anything (records of calls without it stay as they were)."""
    writes = getattr(usage, "cache_write_tokens", None)
    reads = getattr(usage, "cached_input_tokens", None)
    if not (writes or reads):
        return {}
    return {"cache_write_tokens": writes or 0, "cache_read_tokens": reads or 0}


def log_cached(path: Path, request_id: str, fields: dict, *, latency_ms: float) -> None:
    """The usage record of an answer served from the response cache:
    fields is cache.Entry.usage_fields() (the original's tokens, cost 0,
    cached true)."""
    from rfctl import console, usagelog

    try:
        rec = usagelog.UsageRecord(
            ts=usagelog.now_iso(),
            request_id=request_id,
            latency_ms=latency_ms,
            **fields,
        )
    except Exception as e:
        console.warn_once(f"cannot build a usage record: {type(e).__name__}: {e}")
        return
    usagelog.append(path, rec)
