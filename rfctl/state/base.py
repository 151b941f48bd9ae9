"""What the router remembers, as one interface, and the pure rules behind it.

Two backends implement StateBackend: the local JSON file (file.py) and Redis
(redis_backend.py, shared by many hosts). Nothing above this package knows
which one is in use. The decisions (how a cooldown grows, how a token bucket
refills, whether a reservation fits a budget) are pure functions here; the
file backend calls them under its lock and the Redis scripts do the same
arithmetic server-side, so both backends behave alike.

Times are wall-clock seconds (time.time()): monotonic clocks do not survive a
process. A clock stepped backwards must not turn a 60 s cooldown into hours,
so the time left is never more than the cooldown's own length.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass

# A cooldown longer than this is clamped: a provider should never vanish for
# days because a server sent an absurd Retry-After.
MAX_COOLDOWN = 3600.0
# A failure streak is forgotten this long after its cooldown ended without a
# success (the provider was simply not tried again): the next failure then
# starts over at the first, short cooldown.
FORGET_AFTER = 3600.0
# The cursor wraps well before JSON or anyone cares; any modulus of a
# rotation still works.
CURSOR_WRAP = 1 << 30
# How many values of decide() the Redis backend sends with each fail (a Lua
# script cannot call back into Python); later failures reuse the last value,
# which is what any capped schedule gives anyway.
DECIDE_TABLE = 32


@dataclass
class Cooldown:
    until: float  # wall-clock end
    seconds: float  # its length when (last) set: the current period
    reason: str = ""
    since: float = 0.0
    failures: int = 0  # consecutive failures so far (0 for entries written before they counted)

    @property
    def period(self) -> float:
        return self.seconds

    def left(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        return max(0.0, min(self.until - now, self.seconds))

    def remembered(self, now: float) -> bool:
        """Still counts towards the next cooldown's length."""
        return self.until + FORGET_AFTER > now

    def to_json(self) -> dict:
        return {
            "until": round(self.until, 3),
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "since": round(self.since, 3),
            "failures": self.failures,
        }

    @classmethod
    def from_json(cls, c: object) -> Cooldown | None:
        """The entry, or None when it is damaged (ignored, never fatal)."""
        if not isinstance(c, dict):
            return None
        try:
            until = float(c["until"])
            seconds = float(c.get("seconds", MAX_COOLDOWN))
            since = float(c.get("since") or 0.0)
            failures = int(c.get("failures") or 0)
        except (KeyError, TypeError, ValueError):
            return None
        return cls(until, seconds, str(c.get("reason") or ""), since, max(0, failures))


# ---------------------------------------------------------------- pure rules


def clamp_cooldown(seconds: float) -> float:
    return max(0.0, min(float(seconds), MAX_COOLDOWN))


def failures_so_far(old: Cooldown | None, now: float) -> int:
    return old.failures if old is not None and old.remembered(now) else 0


def after_failure(
    old: Cooldown | None, now: float, failures: int, seconds: float, reason: str
) -> Cooldown:
    """The entry after one more failure: the end is the later of the active
    cooldown's and now + SECONDS (a cooldown only ever extends); the reason is
    the latest failure's, even when the earlier end is kept."""
    left = old.left(now) if old is not None else 0.0
    until = now + max(clamp_cooldown(seconds), left)
    return Cooldown(until, until - now, reason[:200], now, failures)


def bucket_take(
    tokens: float | None,
    stamp: float | None,
    now: float,
    amount: float,
    rate: float,
    per: float,
) -> tuple[float, float]:
    """One token-bucket step: (tokens left, seconds to wait; 0 = taken).

    The bucket holds at most RATE tokens (a full period's worth, as providers
    count their own limits) and refills at RATE per PER seconds. A request
    bigger than the whole bucket goes when the bucket is full and leaves it in
    debt, so it waits its turn instead of forever. A missing bucket is full;
    a clock stepped back refills nothing."""
    refill = rate / per
    if tokens is None or stamp is None:
        tokens = rate
    else:
        tokens = min(rate, tokens + max(0.0, now - stamp) * refill)
    need = min(amount, rate)
    if tokens >= need:
        return tokens - amount, 0.0
    return tokens, (need - tokens) / refill


def budget_fits(spent: float, held: float, amount: float, limit: float) -> bool:
    """Whether a reservation of AMOUNT fits: spent + active reservations +
    amount must not exceed the limit (a hair of float slack)."""
    return spent + held + amount <= limit + 1e-9


def reservation_day(reservation_id: str) -> str:
    """Reservation ids are DAY/RANDOM, so a settle still knows its day after
    the reservation itself expired."""
    return reservation_id.split("/", 1)[0]


# ---------------------------------------------------------------- interface

Decide = Callable[[int], float]


class StateBackend(abc.ABC):
    """The router's shared memory. Every method is atomic across threads,
    processes and (for Redis) hosts."""

    # cooldowns

    @abc.abstractmethod
    def entries(self, now: float | None = None) -> dict[str, Cooldown]:
        """Every remembered provider: active cooldowns and failure streaks
        whose cooldown ended (left() == 0), with failures and period."""

    def cooldowns(self, now: float | None = None) -> dict[str, Cooldown]:
        """Active cooldowns only."""
        now = time.time() if now is None else now
        return {n: c for n, c in self.entries(now).items() if c.left(now) > 0}

    @abc.abstractmethod
    def fail(self, name: str, decide: Decide, reason: str, now: float | None = None) -> Cooldown:
        """One more failure of NAME: failures += 1, then a cooldown of
        decide(failures) seconds (failures counts this one: 1 on the first),
        clamped to MAX_COOLDOWN, never shortening an active one. Returns the
        new entry (failures 0 and nothing left when it could not be saved)."""

    @abc.abstractmethod
    def succeed(self, name: str) -> bool:
        """NAME worked: its cooldown and failure streak end. True when there was one."""

    # round-robin cursor

    @abc.abstractmethod
    def next_cursor(self, key: str = "round-robin") -> int:
        """This invocation's cursor value; the stored one moves on by one."""

    @abc.abstractmethod
    def peek_cursor(self, key: str = "round-robin") -> int:
        """The value next_cursor would return, without moving it."""

    # rate pacing

    @abc.abstractmethod
    def acquire(
        self, key: str, amount: float, rate_per_minute: float, *, per: float = 60.0
    ) -> float:
        """Take AMOUNT from the token bucket KEY ("provider:rpm", "provider:tpm")
        holding RATE_PER_MINUTE tokens refilled over PER seconds. Returns 0.0
        when taken, else the seconds to wait before trying again (nothing is
        taken then). A rate <= 0 means no limit."""

    # budget

    @abc.abstractmethod
    def reserve(self, day: str, amount: float, limit: float, ttl: float) -> str | None:
        """Hold AMOUNT of DAY's budget for at most TTL seconds. The reservation
        id, or None when spent + active reservations + amount > limit. Raises
        BudgetError when the budget cannot be checked."""

    @abc.abstractmethod
    def settle(self, reservation_id: str, actual_cost: float) -> None:
        """The call finished: add what it really cost to the day's spend and
        drop the reservation (also after it expired)."""

    @abc.abstractmethod
    def release(self, reservation_id: str) -> None:
        """The call was not made (or cost nothing): drop the reservation."""

    @abc.abstractmethod
    def spent(self, day: str) -> float:
        """What was settled for DAY."""

    def close(self) -> None:
        """Free connections (nothing to do for the file)."""
        return None
