"""Retry policy for one candidate provider, built from tenacity pieces.

What is retried:
- transient failures only: connection resets, 408, 409, 429, 5xx, 529;
- `x-should-retry: false` forbids a retry, `x-should-retry: true` allows one
  on a status we would not retry on our own, except the never-list below;
- never 400, 401, 403, 404, 413, 422, a 429 insufficient_quota (billing, not
  load), a context overflow or a content refusal;
- never on the same route after the provider accepted the request and then
  went silent or broke its stream (timeouts, cut or malformed streams), nor
  after a refused connection: those fail over to the next candidate instead
  (see `fails_over`), because asking the same server again costs a whole
  timeout, or a second generation, for little chance of a different answer.

How long to wait: the server's `retry-after-ms`, else `Retry-After` (seconds
or an HTTP date; parsed by the adapters into ProviderError.retry_after), up
to `max_retry_after`; a server asking for longer is not retried at all (the
walk moves on and cools the provider down for that long). Otherwise
exponential backoff min(base * 2**n, max_backoff) times a jitter factor in
(0.75, 1.0], as the official SDKs do.

When to stop: after `retries` retries, or when the next wait would not end
before the deadline, in which case the walk moves on at once rather than
sleeping into a deadline it cannot meet.

Each piece is a small callable of tenacity's retry state, the form tenacity
takes for a stop, wait or retry condition, so they compose with tenacity's
own (stop_any, wait_combine, ...). tenacity itself is imported only when
retrying() builds a policy: a call whose first attempt succeeds never loads
it, and the classification below is usable without it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rfctl.providers.base import ProviderError
from rfctl.settings import Policy

if TYPE_CHECKING:
    from tenacity import RetryCallState, Retrying

__all__ = ["Policy", "backoff", "fails_over", "is_refused", "retryable", "retrying"]

# Statuses that are about the request itself: never retried, whatever the server says.
NEVER_STATUS = frozenset({400, 401, 403, 404, 413, 422})
# Kinds that are about the request or the account, not the server's load.
NEVER_KINDS = frozenset({"quota", "auth", "not_found", "context", "refusal"})


# ---------------------------------------------------------------- classification


def is_refused(e: ProviderError) -> bool:
    """Nothing listens there (or the host is unreachable / unknown): the
    connection never opened, so no request went out."""
    if e.kind != "connect":
        return False
    msg = e.message.lower()
    return not ("reset" in msg or "closed before" in msg or "aborted" in msg)


def fails_over(e: ProviderError) -> bool:
    """A failure that moves on to the next candidate without retrying here."""
    if e.kind in ("timeout", "stream", "bad_response"):
        return True  # accepted, then silent or broken
    return is_refused(e)


def retryable(e: BaseException) -> bool:
    """May the same provider be asked again after this failure?"""
    if not isinstance(e, ProviderError):
        return False
    if e.status in NEVER_STATUS or e.kind in NEVER_KINDS:
        return False
    if fails_over(e):
        return False
    if e.should_retry is not None:
        return e.should_retry
    return bool(e.transient)


def server_delay(e: BaseException | None) -> float | None:
    """Seconds the server asked us to wait, if it did."""
    if isinstance(e, ProviderError) and e.retry_after is not None:
        return max(0.0, float(e.retry_after))
    return None


def backoff(retry_number: int, policy: Policy, rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry number N (1-based): exponential, capped, jittered."""
    raw = min(policy.base * 2 ** (retry_number - 1), policy.max_backoff)
    lo, hi = policy.jitter
    # rand() is in [0, 1); 1 - rand() is in (0, 1], so the factor is in (lo, hi].
    return raw * (lo + (hi - lo) * (1.0 - rand()))


# ---------------------------------------------------------------- tenacity pieces


def _exception(rs: RetryCallState) -> BaseException | None:
    return rs.outcome.exception() if rs.outcome is not None and rs.outcome.failed else None


class retry_if_retryable:
    def __call__(self, rs: RetryCallState) -> bool:
        e = _exception(rs)
        return e is not None and retryable(e)


class wait_policy:
    """The server's delay when it gave one, else jittered exponential backoff.

    The value for an attempt is computed once and remembered on the call
    state, so that the stop conditions (which some tenacity versions run
    before the wait) see exactly the wait that will be slept.
    """

    def __init__(self, policy: Policy, rand: Callable[[], float] = random.random):
        self.policy = policy
        self.rand = rand

    def __call__(self, rs: RetryCallState) -> float:
        memo = getattr(rs, "_rfctl_wait", None)
        if memo is not None and memo[0] == rs.attempt_number:
            return memo[1]
        asked = server_delay(_exception(rs))
        value = asked if asked is not None else backoff(rs.attempt_number, self.policy, self.rand)
        rs._rfctl_wait = (rs.attempt_number, value)  # type: ignore[attr-defined]
        return value


class stop_if_server_asks_too_long:
    """The server wants more than we honour: give up on this provider."""

    def __init__(self, cap: float):
        self.cap = cap

    def __call__(self, rs: RetryCallState) -> bool:
        asked = server_delay(_exception(rs))
        return asked is not None and asked > self.cap


class stop_before_deadline:
    """The next wait would not end before the deadline: move on now."""

    def __init__(
        self, deadline: float | None, wait: wait_policy, clock: Callable[[], float] = time.monotonic
    ):
        self.deadline = deadline
        self.wait = wait
        self.clock = clock

    def __call__(self, rs: RetryCallState) -> bool:
        if self.deadline is None:
            return False
        return self.wait(rs) >= self.deadline - self.clock()


def retrying(
    policy: Policy,
    *,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    before_sleep: Callable[[RetryCallState], None] | None = None,
    rand: Callable[[], float] = random.random,
) -> Retrying:
    """A tenacity Retrying for one candidate. The last failure is re-raised
    when it gives up, so the caller sees the real ProviderError."""
    from tenacity import Retrying, stop_after_attempt, stop_any

    wait = wait_policy(policy, rand)
    stop = stop_any(
        stop_after_attempt(policy.retries + 1),
        stop_if_server_asks_too_long(policy.max_retry_after),
        stop_before_deadline(deadline, wait, clock),
    )
    return Retrying(
        stop=stop,
        wait=wait,
        retry=retry_if_retryable(),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def wanted_too_long(e: BaseException, policy: Policy) -> bool:
    """True when the server asked for a wait beyond what we honour."""
    asked = server_delay(e)
    return asked is not None and asked > policy.max_retry_after
