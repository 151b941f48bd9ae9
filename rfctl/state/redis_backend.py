"""The router state in Redis, shared by every host that names the same server.

Each atomic step is one Lua script (redis_lua.py) run with EVALSHA, so a
read-decide-write is one step for every client. Every call is bounded by a
short timeout (50 ms by default): the state advises the router and must never
be what makes it slow. When Redis is down or slow the backend warns once and
falls back to the local state file for cooldowns, the cursor and rate buckets
(advice, wherever it comes from), and tries Redis again a few seconds later.
The budget is a promise: when Redis cannot check it, reserve refuses with a
BudgetError rather than spend money nobody counted.

Keys (PREFIX is "rfctl:" by default):
    PREFIX cooldowns            hash provider -> JSON entry
    PREFIX cursors              hash key -> int
    PREFIX bucket:KEY           hash tokens, t (expires once full)
    PREFIX spent:DAY            float (kept KEEP_DAYS)
    PREFIX reservations:DAY     hash id -> JSON {amount, expires, pid, host}

The `redis` client is an optional extra, imported only here, and this module
only when a Redis URL is configured.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

from rfctl.errors import BudgetError, ConfigError
from rfctl.state import redis_lua
from rfctl.state.base import (
    CURSOR_WRAP,
    DECIDE_TABLE,
    FORGET_AFTER,
    MAX_COOLDOWN,
    Cooldown,
    Decide,
    StateBackend,
    reservation_day,
)
from rfctl.state.file import FileState
from rfctl.state.settings import StateConfig

# After a failed call, Redis is left alone this long (calls use the file).
RETRY_AFTER = 5.0
KEEP_DAYS = 8
_KEEP_SECONDS = KEEP_DAYS * 86400


class RedisState(StateBackend):
    """StateBackend on Redis, with FALLBACK (the local file) for advice."""

    def __init__(self, cfg: StateConfig, fallback: FileState, *, client=None):
        self.cfg = cfg
        self.fallback = fallback
        self.prefix = cfg.prefix
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._host = socket.gethostname()
        self._redis = _import_redis()
        self.client = client if client is not None else self._connect()
        self._scripts = {
            name: self.client.register_script(getattr(redis_lua, name))
            for name in ("FAIL", "NEXT_CURSOR", "ACQUIRE", "RESERVE", "SETTLE")
        }

    def __repr__(self) -> str:
        from rfctl.redact import display_url

        return f"RedisState({display_url(self.cfg.url or '')!r}, prefix={self.prefix!r})"

    def _connect(self):
        r = self._redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return r.Redis.from_url(
            self.cfg.url,
            password=self.cfg.password(),
            socket_timeout=self.cfg.timeout,
            socket_connect_timeout=self.cfg.timeout,
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), 0),  # a retry would double the bound
            health_check_interval=0,
            decode_responses=True,
        )

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # closing a dead connection has nothing to report
            pass

    # ------------------------------------------------------------ plumbing

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _usable(self) -> bool:
        with self._lock:
            return time.monotonic() >= self._down_until

    def _failed(self, e: Exception) -> None:
        from rfctl.console import warn_once

        with self._lock:
            self._down_until = time.monotonic() + RETRY_AFTER
        warn_once(
            f"router state: {self._problem(e)}; cooldowns, the round-robin cursor "
            f"and rate pacing use the local file {self.fallback.path}"
        )

    def _problem(self, e: Exception | None) -> str:
        """What went wrong, never with the password (only the kind of failure)."""
        from rfctl.redact import display_url

        where = f"Redis at {display_url(self.cfg.url or '')}"
        if isinstance(e, self._redis.AuthenticationError) or "NOAUTH" in str(e):
            return f"{where} refused the password"
        return f"{where} is unreachable or too slow"

    def _call(self, step, advice):
        """step() against Redis; on failure advice() from the local file."""
        if self._usable():
            try:
                return step()
            except (self._redis.RedisError, OSError) as e:
                self._failed(e)
        return advice()

    def _budget_call(self, step):
        """step() against Redis; a budget nobody can check refuses."""
        problem = None
        if self._usable():
            try:
                return step()
            except (self._redis.RedisError, OSError) as e:
                self._failed(e)
                problem = e
        raise BudgetError(f"cannot check the budget: {self._problem(problem)}")

    # ------------------------------------------------------------ cooldowns

    def entries(self, now: float | None = None) -> dict[str, Cooldown]:
        now = time.time() if now is None else now

        def step():
            raw = self.client.hgetall(self._key("cooldowns"))
            out = {}
            for name, value in raw.items():
                try:
                    entry = Cooldown.from_json(json.loads(value))
                except ValueError:
                    entry = None
                if entry is not None and (entry.left(now) > 0 or entry.remembered(now)):
                    out[name] = entry
            return out

        return self._call(step, lambda: self.fallback.entries(now))

    def fail(self, name: str, decide: Decide, reason: str, now: float | None = None) -> Cooldown:
        t = time.time() if now is None else now
        schedule = [repr(float(decide(n))) for n in range(1, DECIDE_TABLE + 1)]

        def step():
            raw = self._scripts["FAIL"](
                keys=[self._key("cooldowns")],
                args=[name, repr(t), reason[:200], FORGET_AFTER, MAX_COOLDOWN, *schedule],
            )
            entry = Cooldown.from_json(json.loads(raw))
            if entry is None:  # cannot happen: the script wrote it
                raise self._redis.RedisError("damaged cooldown entry")
            return entry

        return self._call(step, lambda: self.fallback.fail(name, decide, reason, now))

    def succeed(self, name: str) -> bool:
        return bool(
            self._call(
                lambda: self.client.hdel(self._key("cooldowns"), name),
                lambda: self.fallback.succeed(name),
            )
        )

    # ------------------------------------------------------------ cursor

    def next_cursor(self, key: str = "round-robin") -> int:
        return int(
            self._call(
                lambda: self._scripts["NEXT_CURSOR"](
                    keys=[self._key("cursors")], args=[key, CURSOR_WRAP]
                ),
                lambda: self.fallback.next_cursor(key),
            )
        )

    def peek_cursor(self, key: str = "round-robin") -> int:
        def step():
            value = self.client.hget(self._key("cursors"), key)
            try:
                return int(value) % CURSOR_WRAP if value is not None else 0
            except ValueError:
                return 0

        return self._call(step, lambda: self.fallback.peek_cursor(key))

    # ------------------------------------------------------------ rate pacing

    def acquire(
        self, key: str, amount: float, rate_per_minute: float, *, per: float = 60.0
    ) -> float:
        if rate_per_minute <= 0 or amount <= 0:
            return 0.0
        return float(
            self._call(
                lambda: self._scripts["ACQUIRE"](
                    keys=[self._key("bucket", key)],
                    args=[repr(float(amount)), repr(float(rate_per_minute)), repr(float(per))],
                ),
                lambda: self.fallback.acquire(key, amount, rate_per_minute, per=per),
            )
        )

    # ------------------------------------------------------------ budget

    def _day_keys(self, day: str) -> list[str]:
        return [self._key("spent", day), self._key("reservations", day)]

    def _reap_dead(self, day: str) -> None:
        """Drop this host's reservations whose process is gone (a crashed
        call holds no budget); other hosts' end by their TTL."""
        held = self.client.hgetall(self._key("reservations", day))
        dead = []
        for rid, value in held.items():
            try:
                r = json.loads(value)
                if r.get("host") == self._host:
                    os.kill(int(r["pid"]), 0)
            except ProcessLookupError:
                dead.append(rid)
            except (
                ValueError,
                TypeError,
                KeyError,
                AttributeError,
                PermissionError,
                OverflowError,
            ):
                pass
        if dead:
            self.client.hdel(self._key("reservations", day), *dead)

    def reserve(self, day: str, amount: float, limit: float, ttl: float) -> str | None:
        rid = f"{day}/{uuid.uuid4().hex}"

        def step():
            self._reap_dead(day)
            ok = self._scripts["RESERVE"](
                keys=self._day_keys(day),
                args=[
                    rid,
                    repr(float(amount)),
                    repr(float(limit)),
                    repr(float(ttl)),
                    os.getpid(),
                    self._host,
                    _KEEP_SECONDS,
                ],
            )
            return rid if int(ok) == 1 else None

        return self._budget_call(step)

    def settle(self, reservation_id: str, actual_cost: float) -> None:
        day = reservation_day(reservation_id)
        self._budget_call(
            lambda: self._scripts["SETTLE"](
                keys=self._day_keys(day),
                args=[reservation_id, repr(max(0.0, float(actual_cost))), _KEEP_SECONDS],
            )
        )

    def release(self, reservation_id: str) -> None:
        day = reservation_day(reservation_id)
        self._budget_call(lambda: self.client.hdel(self._key("reservations", day), reservation_id))

    def spent(self, day: str) -> float:
        def step():
            value = self.client.get(self._key("spent", day))
            return float(value) if value is not None else 0.0

        return float(self._budget_call(step))


def _import_redis():
    try:
        import redis
    except ImportError:
        raise ConfigError(
            "[state] url names a Redis server, but the redis client is not installed: "
            "pip install 'rfctl[redis]'"
        ) from None
    return redis
