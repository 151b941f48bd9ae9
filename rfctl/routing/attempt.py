"""One adapter call: the cancel check, the live-output relay and the cut it
implies, and the shield that turns an adapter bug into a failed attempt.

A failure after live text reached the user cannot be hidden by asking
another provider (that would glue a second answer onto the first), so it is
marked `cut`: the walk has it continued (rfctl.routing.continuation) or ends
the call. A failure of our own output (a closed pipe, `rfctl ... | head -1`)
is no reason to ask another provider either: it goes straight through. An attempt in flight when the user interrupts a batch
(Ctrl-C) raises KeyboardInterrupt: what it saw is no news about the provider.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from rfctl.providers.base import OnText, ProviderError, Request, Result, Timeouts
from rfctl.routing import clock


@dataclass
class Tried:
    result: Result | None
    error: ProviderError | None
    latency_ms: float
    cut: bool = False  # failed after this attempt wrote live text


class Live:
    """Relays streamed text to the user and counts what went out."""

    def __init__(self, on_text: OnText | None):
        self.on_text = on_text
        self.chars = 0
        self.written: list[str] = []  # what went out: a continuation goes on from it
        self.output_error: BaseException | None = None

    @property
    def text(self) -> str:
        return "".join(self.written)

    def __call__(self, piece: str) -> None:
        if self.on_text is not None and piece:
            try:
                self.on_text(piece)
            except BaseException as e:
                self.output_error = e
                raise
            self.chars += len(piece)
            self.written.append(piece)


def check_cancel(cancel: threading.Event | None) -> None:
    """The user interrupted a batch: no cooldown starts and no state is
    written for what this attempt saw (the ledger books it as interrupted)."""
    if cancel is not None and cancel.is_set():
        raise KeyboardInterrupt


def call(
    adapter,
    req: Request,
    t: Timeouts,
    live: Live | None,
    cancel: threading.Event | None,
    relay: OnText | None = None,
) -> Tried:
    """Send req once. Never raises a provider failure (Tried.error carries it).
    relay (the ledger's Flight) sees each piece of text first and passes it on
    to live."""
    check_cancel(cancel)
    before = live.chars if live is not None else 0  # a continuation starts with text out
    req = capped(req, getattr(adapter, "provider", None))
    t0 = clock.monotonic()
    try:
        result = adapter.generate(req, t, relay if relay is not None else live)
    except ProviderError as e:
        error = e
    except Exception as e:  # an adapter bug must not become a traceback
        if live is not None and e is live.output_error:
            raise
        error = ProviderError("internal", f"{type(e).__name__}: {e}", transient=False)
    else:
        check_cancel(cancel)
        return Tried(result, None, result.latency_ms)
    check_cancel(cancel)
    latency = (clock.monotonic() - t0) * 1000.0
    return Tried(None, error, latency, cut=bool(live is not None and live.chars > before))


def capped(req: Request, p) -> Request:
    """A provider's max_tokens is a ceiling on what it is asked to write."""
    cap = getattr(p, "max_tokens", None)
    if cap is not None and (req.max_tokens is None or req.max_tokens > cap):
        return replace(req, max_tokens=cap)
    return req


class Managed:
    """The adapter of a provider whose llama-server rfctl runs: each call
    makes sure the server is up (starting it the first time: bounded by the
    time left, at most two minutes) and sends to its URL. A server that
    cannot start is a failed attempt, so the walk goes on to the next
    provider."""

    def __init__(self, p, make, paths):
        self.provider, self.make, self.paths = p, make, paths

    def generate(self, req: Request, t: Timeouts, on_text: OnText | None = None) -> Result:
        from rfctl import localserver
        from rfctl.errors import RfctlError

        left = 120.0 if t.deadline is None else t.deadline - clock.monotonic()
        try:
            url = localserver.ensure_running(
                self.provider, self.paths, timeout=max(1.0, min(120.0, left))
            )
        except RfctlError as e:
            raise ProviderError("connect", e.message, transient=False) from None
        return adapter_for(replace(self.provider, base_url=url), self.make).generate(
            req, t, on_text
        )


_adapters = threading.local()


def adapter_for(p, make, paths=None):
    """One adapter (and so one requests.Session and its kept-alive connections)
    per provider per thread: --jsonl lines and retries reuse connections.
    With `paths`, a provider whose server rfctl runs gets a Managed adapter."""
    if paths is not None and getattr(p, "model_file", None):
        from rfctl import localserver

        if localserver.is_managed(p):
            return Managed(p, make, paths)
    cache = getattr(_adapters, "by_provider", None)
    if cache is None:
        cache = _adapters.by_provider = {}
    key = (make, p.name, p.kind, p.base_url, p.key())
    adapter = cache.get(key)
    if adapter is None:
        adapter = cache[key] = make(p)
    return adapter


def forget_adapters() -> None:
    """Drop this thread's adapters (and their pooled connections), as a new
    process would start: for in-process runs that stand for separate
    invocations."""
    cache = getattr(_adapters, "by_provider", None)
    if cache:
        for adapter in cache.values():
            close = getattr(getattr(adapter, "session", None), "close", None)
            if close is not None:
                close()
        cache.clear()
