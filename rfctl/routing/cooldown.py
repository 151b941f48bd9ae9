"""Whether a failed candidate should be skipped for a while: a pure decision
from its failure, its attempts and the retry policy (the walk writes the
state file).

- connection refused or failing (nothing listens, resets at connect): yes;
- a server that never answered (no first byte) with time still left: yes;
  out of time is the deadline's doing, not the provider's;
- a probe (everything was cooling) that failed transiently: yes, again;
- a Retry-After beyond max_retry_after: yes, as long as the server asked;
- two or more 5xx in a row at the end of its attempts: yes;
- otherwise no. Cooldowns only ever extend; a success clears them.

How long: the cooldown learns (period()). The first failure of a streak
cools the provider for `cooldown_base` seconds, each further one doubles
that, up to `cooldown` (the cap); a success (or a successful `rfctl probe`)
ends the streak. A server's own Retry-After is honoured as a floor. When a
cooldown ends, the next call gives the provider one attempt (a trial, no
retries): a failure re-enters with the doubled period, so a provider down
for an hour costs about log2(cap / base) + hour / cap attempts, and one that
recovers after seconds is tried again within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from rfctl.ledger import Attempt
from rfctl.providers.base import ProviderError
from rfctl.routing.retry import wanted_too_long
from rfctl.settings import Policy


@dataclass
class Cooldown:
    seconds: float
    reason: str
    asked: bool = False  # the server asked for this long (Retry-After): a floor


def period(failures: int, base: float, cap: float) -> float:
    """The cooldown after the FAILURES-th failure in a row (1 on the first):
    base, doubling each time, never more than cap."""
    if failures <= 0 or cap <= 0:
        return 0.0
    base = min(base, cap) if base > 0 else cap
    return min(cap, base * 2.0 ** min(failures - 1, 60))


def schedule(cd: Cooldown, base: float, cap: float):
    """decide(failures) -> seconds for the state backend: the learned period,
    or the server's Retry-After when it asked for longer."""
    floor = cd.seconds if cd.asked else 0.0
    return lambda failures: max(floor, period(failures, base, cap))


def decide(
    e: ProviderError,
    attempts: list[Attempt],
    policy: Policy,
    *,
    default_s: float,
    probe: bool,
    out_of_time: bool,
) -> Cooldown | None:
    """attempts: this candidate's, in order, the failed last one included."""
    if wanted_too_long(e, policy):
        cd = _positive(e.retry_after, f"asked to retry after {e.retry_after:g} s")
        if cd is not None:
            cd.asked = True
        return cd
    if e.kind == "connect":
        return _positive(default_s, e.short())
    if e.kind == "timeout" and not e.accepted and not out_of_time:
        return _positive(default_s, "no response: " + e.message)
    if probe and e.transient:
        return _positive(default_s, e.short())
    tail = 0
    for a in reversed(attempts):
        if a.http_status is None or a.http_status < 500:
            break
        tail += 1
    if tail >= 2:
        return _positive(default_s, f"{tail} server errors in a row: {e.short()}")
    return None


def _positive(seconds: float | None, reason: str) -> Cooldown | None:
    return Cooldown(seconds, reason) if seconds is not None and seconds > 0 else None
