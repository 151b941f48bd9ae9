"""Time bounds for one attempt: when it started, when it must end.

Pure standard library (no requests), so the stream code can use it too.
"""

from __future__ import annotations

import time

from rfctl.providers.base import ProviderError, Timeouts


class Clock:
    """When an attempt started and when it must end (its own bound or the deadline)."""

    def __init__(self, t: Timeouts):
        self.t = t
        self.start = time.monotonic()
        end = self.start + t.attempt
        self.end = min(end, t.deadline) if t.deadline is not None else end
        self.first_byte_at: float | None = None

    def left(self) -> float:
        return self.end - time.monotonic()

    def bound(self, limit: float) -> float:
        """`limit`, cut to what is left of the attempt; raises once nothing is."""
        left = self.left()
        if left <= 0:
            raise ProviderError("timeout", "attempt timed out", transient=True)
        return max(0.001, min(limit, left))

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.start) * 1000.0

    def mark_first_byte(self) -> float:
        if self.first_byte_at is None:
            self.first_byte_at = time.monotonic()
        return (self.first_byte_at - self.start) * 1000.0


def short_clock(timeout: float) -> Clock:
    """A Clock for one small request (health, listing): every bound is `timeout`."""
    return Clock(Timeouts(connect=timeout, first_byte=timeout, stall=timeout, attempt=timeout))


def ms_since(t0: float) -> float:
    """Milliseconds since the time.monotonic() value t0."""
    return (time.monotonic() - t0) * 1000.0


def time_left(end: float) -> float:
    """Seconds until the time.monotonic() value `end`, never quite zero."""
    return max(0.001, end - time.monotonic())
