"""The books for one attempt: its usage filled in when the provider reported
none, its price, the summary the caller sees (Attempt) and the one usage-log
record (written through rfctl.usagelog).

Every request that left the machine gets exactly one record:

- ok: the answer, tokens as reported (or estimated), its price;
- error: a server that accepted the request and then failed (a cut stream)
  is booked with the usage it reported before failing, else with tokens
  estimated from the prompt and the text received, and their price; an
  error status (4xx/5xx) or a connection failure is booked with no tokens
  and cost 0 (providers do not bill those);
- interrupted: the call ended while the request was on the wire (Ctrl-C,
  SIGTERM, SIGHUP, a closed output pipe). Each attempt registers as a Flight
  before it is sent and lands when it is booked; whatever is still flying
  when the process stops is booked by interrupted() (cli.main calls it),
  with estimated tokens and their price, and its budget reservation is
  settled with that cost.

An answer that came back whole but did not validate against --schema is an
error booked with the usage the provider reported for it (it was billed).
Attachments are recorded by count and bytes (what the adapter sent), never
their content or names.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from rfctl.config import ProviderConfig
    from rfctl.providers.base import ProviderError, Result, Usage
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
    usage: Usage | None = None  # what the record's token counts come from (None: no tokens)
    fallback: bool | None = None  # ok after attempt 1: answered by another provider than the first
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
    if usage.cached_input_tokens or usage.cache_write_tokens:
        # What prompt caching saved: the same tokens at the full input price,
        # less what was paid (negative for a first write, which costs more).
        from dataclasses import replace

        full = replace(usage, cached_input_tokens=0, cache_write_tokens=0, cache_write_1h_tokens=0)
        usage.saved_usd = cost_usd(full, found, free=False) - cost
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
        attachments=result.attachments,
        attachment_bytes=result.attachment_bytes,
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
    flight: Flight | None = None,
) -> Attempt:
    """A failed attempt. With its FLIGHT, one the server accepted is priced:
    the usage it reported before failing, else an estimate."""
    usage, cost = (None, 0.0) if flight is None else flight.spent_on(error)
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
    probe: bool | None = None,
) -> None:
    """Append the attempt's usage record."""
    usage = usage if usage is not None else a.usage
    _write(
        path,
        lambda: dict(
            request_id=request_id,
            **{name: getattr(a, name) for name in _FROM_ATTEMPT},
            **{name: getattr(usage, name, None) for name in _FROM_USAGE},
            tokens_source=usage.source if usage is not None else None,
            stream=stream,
            finish_reason=finish,
            **prompt_cache_fields(usage),
            probe=probe,
        ),
    )


# What the record copies, under the same names, from the Attempt and from its Usage.
_FROM_ATTEMPT = (
    "provider",
    "kind",
    "model",
    "status",
    "error",
    "http_status",
    "attempt",
    "latency_ms",
    "ttft_ms",
    "cost_usd",
    "price_source",
    "attachments",
    "attachment_bytes",
    "fallback",
)
_FROM_USAGE = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens")


def _write(path: Path, fields) -> None:
    """Append the record of `fields()` (all but its time stamp). The ledger
    must never cost the user the answer: a record that cannot be built is a
    warning."""
    from rfctl import console, usagelog

    try:
        rec = usagelog.UsageRecord(ts=usagelog.now_iso(), **fields())
    except Exception as e:
        console.warn_once(f"cannot build a usage record: {type(e).__name__}: {e}")
        return
    usagelog.append(path, rec)


def prompt_cache_fields(usage: Usage | None) -> dict:
    """cache_write_tokens (and its 1-hour part) and cache_read_tokens, with
    what the cache saved, when the provider's prompt cache wrote or read
    anything (records of calls without it stay as they were)."""
    writes = getattr(usage, "cache_write_tokens", None)
    reads = getattr(usage, "cached_input_tokens", None)
    if not (writes or reads):
        return {}
    out = {"cache_write_tokens": writes or 0, "cache_read_tokens": reads or 0}
    if getattr(usage, "cache_write_1h_tokens", None):
        out["cache_write_1h_tokens"] = usage.cache_write_1h_tokens
    if getattr(usage, "saved_usd", None) is not None:
        out["saved_usd"] = usage.saved_usd
    return out


def log_cached(path: Path, request_id: str, fields: dict, *, latency_ms: float) -> None:
    """The usage record of an answer served from the response cache:
    fields is cache.Entry.usage_fields() (the original's tokens, cost 0,
    cached true)."""
    _write(path, lambda: dict(request_id=request_id, latency_ms=latency_ms, **fields))


# ---------------------------------------------------------------- requests on the wire


@dataclass
class Flight:
    """One request on the wire, with what its record needs if the call ends
    before the attempt does. Also the relay the adapter hands each piece of
    text to (kept for the estimate, then passed on to the live output)."""

    log_path: Path | None  # None: --no-log
    request_id: str
    provider: ProviderConfig
    model: str | None
    number: int
    wait_s: float
    prompt: PromptTokens
    entry: object = None  # the registry entry the price comes from
    stream: bool = True
    relay: object = None  # the live output, if any
    hold: object = None  # a budget reservation: (state backend, reservation id)
    started: float = 0.0
    parts: list[str] = field(default_factory=list)

    def __call__(self, piece: str) -> None:
        self.parts.append(piece)
        if self.relay is not None:
            self.relay(piece)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def priced(self, usage: Usage, *, quick: bool = False) -> float | None:
        """The cost of USAGE, filling in what was not reported. quick: the
        process is stopping, so no tokenizer is loaded: ~4 bytes per token
        (the count the prompt's tokenizer already made, if any)."""
        if quick:
            from rfctl.tokens import upper_bound

            if usage.input_tokens is None:
                usage.input_tokens = self.prompt.best_known() or -(-self.prompt.bound // 4)
            if usage.output_tokens is None:
                usage.output_tokens = -(-upper_bound(self.text) // 4)
            usage.reported = False
        fill_usage(usage, self.text, self.model, self.prompt)
        # Priced as a success would be (the same price source and rates).
        return price_of(usage, self.provider, self.entry, self.model)[0]

    def spent_on(self, error: ProviderError) -> tuple[Usage | None, float | None]:
        """(usage, cost) of a failed attempt: priced only when the server
        accepted the request (it may bill what it generated)."""
        from rfctl.providers.base import Usage

        if not error.accepted or (error.status is not None and not 200 <= error.status < 300):
            return None, 0.0  # an error status is not billed
        # Reported before the failure, or with a whole answer that did not
        # validate against --schema (billed all the same).
        answered = getattr(error, "answer", None)
        seen = getattr(error, "usage", None) or getattr(answered, "usage", None)
        usage = seen if seen is not None and seen.reported else Usage()
        return usage, self.priced(usage)

    def settle(self, cost: float | None) -> None:
        """Turn the budget reservation into spend (cost 0 or None: release it)."""
        hold, self.hold = self.hold, None
        if hold is None:
            return
        backend, rid = hold
        try:
            if cost:
                backend.settle(rid, cost)
            else:
                backend.release(rid)
        except Exception as e:  # the call is over; an expired hold frees itself
            from rfctl import console

            console.warn_once(f"cannot record the budget: {e}")


_lock = threading.Lock()
_flying: dict[int, Flight] = {}
_closing = False


def take_off(f: Flight) -> None:
    """F is about to be sent. Refused (KeyboardInterrupt) once the process is
    stopping: nothing new leaves after interrupted() booked the rest."""
    import time

    with _lock:
        if _closing:
            raise KeyboardInterrupt
        f.started = time.monotonic()
        _flying[id(f)] = f


def land(f: Flight) -> bool:
    """F's attempt is over and will book itself. False when interrupted()
    already booked it (the attempt must then write nothing)."""
    with _lock:
        return _flying.pop(id(f), None) is not None


def open_books() -> None:
    """A new invocation (cli.main): nothing in flight, nothing closing."""
    global _closing
    with _lock:
        _closing = False
        _flying.clear()


def interrupted(reason: str) -> int:
    """Book every request still on the wire as `interrupted` (estimated
    tokens, their price; its reservation settled) and let nothing new leave.
    Returns how many were booked. Signals are held off while writing, so a
    second Ctrl-C cannot tear a record."""
    global _closing
    with _lock:
        _closing = True
        flying = list(_flying.values())
        _flying.clear()
    if not flying:
        return 0
    with _signals_held():
        for f in flying:
            _book_interrupted(f, reason)
    return len(flying)


def _book_interrupted(f: Flight, reason: str) -> None:
    import time

    from rfctl.providers.base import Usage

    try:
        usage = Usage()
        cost = f.priced(usage, quick=True)
        if f.log_path is None:
            f.settle(cost)
            return
        a = Attempt(
            f.provider.name,
            f.provider.kind,
            f.model,
            "interrupted",
            (time.monotonic() - f.started) * 1000.0,
            attempt=f.number,
            error=reason,
            wait_ms=f.wait_s * 1000.0,
            cost_usd=cost,
            usage=usage,
        )
        log(f.log_path, f.request_id, a, stream=f.stream, finish="interrupted")
        f.settle(cost)  # after the log, as the walk does
    except Exception as e:  # stopping anyway: one warning, never a traceback
        from rfctl import console

        console.warn(f"cannot book an interrupted attempt: {type(e).__name__}: {e}")


class _signals_held:
    """Block SIGINT, SIGTERM and SIGHUP in this thread for the duration."""

    def __enter__(self):
        import signal

        self.mask = None
        if threading.current_thread() is threading.main_thread():
            sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
            self.mask = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        return self

    def __exit__(self, *exc):
        import signal

        if self.mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.mask)
