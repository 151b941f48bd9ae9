"""The router state in one local JSON file ($XDG_STATE_HOME/rfctl/state.json):

    {"version": 1,
     "cooldowns": {"claude": {"until": 1764379806.1, "seconds": 60.0, "failures": 2,
                              "reason": "connection refused", "since": 1764379746.1}},
     "cursors": {"round-robin": 7},
     "buckets": {"claude:rpm": {"tokens": 3.5, "t": 1764379746.1, "full": 1764379752.0}},
     "budget": {"spent": {"2026-12-01": 1.25},
                "reservations": {"2026-12-01/ab12...": {"amount": 0.02, "expires": ...,
                                                        "pid": 4242, "host": "box"}}}}

Many short-lived processes share it (cron jobs, `make -j`, batch threads), so
every change is a read-modify-write under an exclusive flock on a sidecar lock
file (STATE.lock), written to a temporary file and renamed over the old one:
readers never lock and always see a whole file, and no update is lost. The
lock lives on a separate file because a rename gives the state a new inode, and
a lock held on the old inode would not exclude the next writer. flock locks
belong to an open file, so threads of one process exclude each other too.

Cooldowns, the cursor and buckets are a cache of advice, not a record: a
missing, unreadable or damaged file reads as empty, and a write that fails is
ignored (the next invocation just pays a timeout it could have skipped). The
budget is a promise, so a budget that cannot be read or written refuses
(BudgetError). Stdlib only: this is on the `generate` path.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from rfctl.state.base import (
    CURSOR_WRAP,
    Cooldown,
    Decide,
    StateBackend,
    after_failure,
    bucket_take,
    budget_fits,
    clamp_cooldown,
    failures_so_far,
    reservation_day,
)

VERSION = 1
# Days of settled spend kept in the file (today's is the one that matters).
KEEP_DAYS = 8


# ---------------------------------------------------------------- the file


def read(path: Path) -> dict:
    """The whole state; {} when there is none or it cannot be parsed."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read() or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_path(path: Path) -> None:
    """A directory is not a state file: say so instead of writing DIR.lock beside it."""
    if os.path.isdir(path):
        from rfctl.errors import ConfigError

        raise ConfigError(
            f"the state path {path} is a directory; give a file, such as {Path(path) / 'state.json'}"
        )


@contextlib.contextmanager
def _locked(path: Path):
    """Exclusive lock on PATH.lock for one read-modify-write."""
    import fcntl

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write(path: Path, data: dict) -> None:
    from rfctl.atomic import write_file_atomic

    body = json.dumps(data, separators=(",", ":"), sort_keys=True)
    write_file_atomic(path, body, 0o600, durable=False)


def transact(path: Path, change, now: float | None = None):
    """Apply change(data) -> result under the lock and save. OSError propagates."""
    path = Path(path)
    check_path(path)
    with _locked(path):
        data = read(path)
        result = change(data)
        data["version"] = VERSION
        _prune(data, time.time() if now is None else now)
        _write(path, data)
        return result


def update(path: Path, change, now: float | None = None) -> object:
    """Apply change(data) -> result to the state under the lock and save it.

    Returns change's result, or None when the state could not be written (a
    read-only or full disk must not fail the call the state only advises).
    """
    try:
        return transact(path, change, now)
    except OSError:
        return None


def _table(data: dict, key: str) -> dict:
    """data[key] as a dict, replacing anything damaged."""
    value = data.get(key)
    if not isinstance(value, dict):
        value = data[key] = {}
    return value


def cooldowns_of(data: dict) -> dict[str, Cooldown]:
    raw = data.get("cooldowns")
    if not isinstance(raw, dict):
        return {}
    out = {}
    for name, c in raw.items():
        entry = Cooldown.from_json(c)
        if entry is not None:
            out[str(name)] = entry
    return out


def _prune(data: dict, now: float) -> None:
    """Drop what no longer matters: forgotten cooldowns, full buckets, old days."""
    data["cooldowns"] = {
        n: c.to_json()
        for n, c in cooldowns_of(data).items()
        if c.left(now) > 0 or c.remembered(now)
    }
    buckets = _table(data, "buckets")
    for key in [k for k, b in buckets.items() if not _number(b, "full", now) > now]:
        del buckets[key]
    budget = data.get("budget")
    if isinstance(budget, dict):
        spent = _table(budget, "spent")
        for day in sorted(spent)[:-KEEP_DAYS]:
            del spent[day]


def _number(d: object, key: str, default: float) -> float:
    try:
        return float(d[key])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return default


def _cursor_of(data: dict, key: str) -> int:
    cursors = data.get("cursors")
    value = cursors.get(key) if isinstance(cursors, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _alive(r: dict, now: float, host: str) -> bool:
    """A reservation still holds budget: not expired, and its process (when on
    this host) still exists."""
    if _number(r, "expires", 0.0) <= now:
        return False
    if r.get("host") != host:
        return True  # another host's process: only its TTL can end it
    try:
        os.kill(int(r.get("pid")), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError, OverflowError):
        return True
    return True


# ---------------------------------------------------------------- the backend


class FileState(StateBackend):
    """StateBackend on the local JSON file at PATH."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"FileState({str(self.path)!r})"

    def _read(self) -> dict:
        check_path(self.path)
        return read(self.path)

    # cooldowns

    def entries(self, now: float | None = None) -> dict[str, Cooldown]:
        now = time.time() if now is None else now
        return {
            n: c
            for n, c in cooldowns_of(self._read()).items()
            if c.left(now) > 0 or c.remembered(now)
        }

    def fail(self, name: str, decide: Decide, reason: str, now: float | None = None) -> Cooldown:
        def change(data: dict) -> Cooldown:
            t = time.time() if now is None else now
            old = cooldowns_of(data).get(name)
            failures = failures_so_far(old, t) + 1
            new = after_failure(old, t, failures, clamp_cooldown(decide(failures)), reason)
            _table(data, "cooldowns")[name] = new.to_json()
            return new

        new = update(self.path, change, now)
        if new is None:
            t = time.time() if now is None else now
            return Cooldown(t, 0.0, reason[:200], t, 0)
        return new

    def succeed(self, name: str) -> bool:
        # No write when there is nothing to clear: the common case after a success.
        if name not in cooldowns_of(self._read()):
            return False

        def change(data: dict) -> bool:
            return _table(data, "cooldowns").pop(name, None) is not None

        return bool(update(self.path, change))

    # cursor

    def peek_cursor(self, key: str = "round-robin") -> int:
        return _cursor_of(self._read(), key)

    def next_cursor(self, key: str = "round-robin") -> int:
        """0 when the state cannot be written (every invocation then starts at
        the top, which is still a correct, if unrotated, order)."""

        def change(data: dict) -> int:
            value = _cursor_of(data, key)
            _table(data, "cursors")[key] = (value + 1) % CURSOR_WRAP
            return value

        value = update(self.path, change)
        return int(value) if value is not None else 0

    # rate pacing

    def acquire(
        self, key: str, amount: float, rate_per_minute: float, *, per: float = 60.0
    ) -> float:
        if rate_per_minute <= 0 or amount <= 0:
            return 0.0
        rate = float(rate_per_minute)

        def change(data: dict) -> float:
            now = time.time()
            buckets = _table(data, "buckets")
            b = buckets.get(key)
            tokens = _number(b, "tokens", rate) if isinstance(b, dict) else None
            stamp = _number(b, "t", now) if isinstance(b, dict) else None
            tokens, wait = bucket_take(tokens, stamp, now, float(amount), rate, per)
            full = now + (rate - tokens) * per / rate
            buckets[key] = {"tokens": tokens, "t": now, "full": full}
            return wait

        wait = update(self.path, change)
        # An unwritable state paces nothing, as it cools nothing.
        return float(wait) if wait is not None else 0.0

    # budget

    def _budget(self, change, what: str):
        from rfctl.errors import BudgetError

        def on(data: dict):
            budget = _table(data, "budget")
            return change(_table(budget, "spent"), _table(budget, "reservations"))

        try:
            return transact(self.path, on)
        except OSError as e:
            raise BudgetError(
                f"cannot {what} the budget in {self.path}: {e.strerror or e}"
            ) from None

    def reserve(self, day: str, amount: float, limit: float, ttl: float) -> str | None:
        import socket  # here: only a budget needs them
        import uuid

        host = socket.gethostname()
        rid = f"{day}/{uuid.uuid4().hex}"

        def change(spent: dict, reservations: dict) -> str | None:
            now = time.time()
            for k in [
                k
                for k, r in reservations.items()
                if not (isinstance(r, dict) and _alive(r, now, host))
            ]:
                del reservations[k]
            held = sum(
                _number(r, "amount", 0.0)
                for k, r in reservations.items()
                if reservation_day(k) == day
            )
            if not budget_fits(_number(spent, day, 0.0), held, float(amount), float(limit)):
                return None
            reservations[rid] = {
                "amount": float(amount),
                "expires": now + float(ttl),
                "pid": os.getpid(),
                "host": host,
            }
            return rid

        return self._budget(change, "check")

    def settle(self, reservation_id: str, actual_cost: float) -> None:
        day = reservation_day(reservation_id)

        def change(spent: dict, reservations: dict) -> None:
            reservations.pop(reservation_id, None)
            spent[day] = _number(spent, day, 0.0) + max(0.0, float(actual_cost))

        self._budget(change, "record")

    def release(self, reservation_id: str) -> None:
        self._budget(lambda spent, reservations: reservations.pop(reservation_id, None), "record")

    def spent(self, day: str) -> float:
        budget = self._read().get("budget")
        spent = budget.get("spent") if isinstance(budget, dict) else None
        return _number(spent, day, 0.0)
