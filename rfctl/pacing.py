"""Pacing for cloud rate limits, shared by every worker of a batch.

--rpm N / --tpm N (or a provider's `rpm` / `tpm` in the config; the flag
wins) hold each provider to N requests, or N estimated tokens, per minute.
The buckets live in the state backend (rfctl.state: the local file, or Redis
shared by many hosts), so workers, concurrent rfctl processes and, with
Redis, other hosts all draw from the same budget. Requests are spaced
evenly, without bursts: one every 60/N seconds for --rpm N (a bucket that
holds one request), and for --tpm each request waits for its own tokens, so
no minute window ever holds more than N requests (or N tokens plus the one
request that went over). A request's tokens are estimated before it is
sent: its prompt and system bytes / 4, plus max_tokens when it is set.

A 429 with Retry-After holds back the whole batch for that provider, not
only the worker that saw it: until the wait is over no worker sends to it
(the worker that saw it retries under its own policy; a Retry-After longer
than max_retry_after starts a cooldown in the state, which every plan sees).

A wait that would pass the call's deadline fails the attempt as a timeout
instead of sleeping past it. With no rate set anywhere pacing reads nothing:
it costs a dictionary lookup per attempt (the Retry-After hold).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from rfctl.providers.base import ProviderError

if TYPE_CHECKING:
    from rfctl.config import Config, Paths, ProviderConfig

# The bucket's period in seconds: providers count their limits per minute.
# Tests shrink it to keep a "minute" short.
MINUTE = 60.0


class Pacer:
    def __init__(self, cfg: Config, paths: Paths, rpm: float | None, tpm: float | None):
        from rfctl import settings

        self.cfg, self.paths = cfg, paths
        self.rpm, self.tpm = rpm, tpm  # the flags (None: the provider's own setting)
        self.rates = {p.name: settings.rate_limits(rpm, tpm, p) for p in cfg.providers.values()}
        self.paced = any(r != (None, None) for r in self.rates.values())
        self.held: dict[str, float] = {}  # provider -> monotonic end of a Retry-After hold
        self.lock = threading.Lock()
        self._state = None
        self.cancel: threading.Event | None = None

    def state(self):
        if self._state is None:
            from rfctl.state import open_state

            with self.lock:
                if self._state is None:
                    self._state = open_state(self.paths, getattr(self.cfg, "state", None))
        return self._state

    # ------------------------------------------------------------ around one attempt

    def wrap(self, p: ProviderConfig, adapter):
        """The adapter, paced: every generate() waits its turn first."""
        return _Paced(self, p, adapter)

    def wait(self, p: ProviderConfig, req, deadline: float | None) -> None:
        """Sleep until P may be sent REQ: any Retry-After hold, then a
        request and its tokens from the buckets."""
        rpm, tpm = self.rates.get(p.name, (self.rpm, self.tpm))
        need = [("rpm", rpm, 1.0)] if rpm else []
        if tpm:
            need.append(("tpm", tpm, float(estimate_tokens(req))))
        while True:
            delay = self.held.get(p.name, 0.0) - time.monotonic()
            if delay <= 0 and need:
                what, rate, amount = need[0]
                # A bucket of one unit refilled every MINUTE / rate seconds:
                # even spacing (a full bucket of `rate` would allow a burst of
                # `rate` and then `rate` more within the same minute).
                delay = self.state().acquire(f"{p.name}:{what}", amount, 1.0, per=MINUTE / rate)
                if delay <= 0:
                    need.pop(0)  # taken: never taken twice while the next one waits
                    continue
            if delay <= 0:
                return
            if deadline is not None and time.monotonic() + delay > deadline:
                raise ProviderError(
                    "timeout",
                    f"rate pacing: {p.name}'s next turn is {delay:.1f} s away, past the deadline",
                    transient=True,
                )
            if self.cancel is not None:
                if self.cancel.wait(delay):
                    raise KeyboardInterrupt  # the batch is stopping: send nothing more
            else:
                time.sleep(delay)

    def hold(self, name: str, seconds: float | None) -> None:
        """A 429 asked to wait SECONDS: every worker waits for NAME."""
        if not seconds or seconds <= 0:
            return
        end = time.monotonic() + seconds
        with self.lock:
            if end > self.held.get(name, 0.0):
                self.held[name] = end


class _Paced:
    """An adapter whose generate() waits its turn and reports 429s."""

    def __init__(self, pacer: Pacer, p: ProviderConfig, adapter):
        self.pacer, self.p, self.adapter = pacer, p, adapter

    def __getattr__(self, name):
        return getattr(self.adapter, name)

    def generate(self, req, timeouts, on_text=None):
        self.pacer.wait(self.p, req, getattr(timeouts, "deadline", None))
        try:
            return self.adapter.generate(req, timeouts, on_text)
        except ProviderError as e:
            if e.kind == "rate_limit":
                self.pacer.hold(self.p.name, e.retry_after)
            raise


def paced(pacer: Pacer | None, p: ProviderConfig, adapter):
    """The walk's hook: the adapter itself when nothing paces this call."""
    return adapter if pacer is None else pacer.wrap(p, adapter)


def estimate_tokens(req) -> int:
    size = len(req.prompt.encode("utf-8", "replace"))
    if req.system:
        size += len(req.system.encode("utf-8", "replace"))
    return (size + 3) // 4 + (req.max_tokens or 0)


def for_call(args, cfg: Config, paths: Paths, *, batch: bool) -> Pacer | None:
    """The pacer of one generate invocation: a batch always has one (a
    Retry-After hold is shared by its workers); a single call only when a
    rate is set for some provider."""
    import math

    from rfctl.errors import UsageError

    if not batch:
        for flag in ("unordered", "resume"):
            if getattr(args, flag, None):
                raise UsageError(f"--{flag} goes with --jsonl")
    rpm, tpm = getattr(args, "rpm", None), getattr(args, "tpm", None)
    for flag, value in (("rpm", rpm), ("tpm", tpm)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UsageError(f"--{flag} must be a number greater than 0")
    pacer = Pacer(cfg, paths, rpm, tpm)
    if not batch and not pacer.paced:
        return None
    return pacer
