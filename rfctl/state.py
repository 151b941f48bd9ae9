"""The router's memory between invocations: cooldowns and the round-robin cursor.

One small JSON file (DESIGN.md "Files": $XDG_STATE_HOME/rfctl/state.json):

    {"version": 1,
     "cooldowns": {"claude": {"until": 1764379806.1, "seconds": 60.0,
                              "reason": "connection refused", "since": 1764379746.1}},
     "cursors": {"round-robin": 7}}

Many short-lived processes share it (cron jobs, `make -j`, batch threads), so
every change is a read-modify-write under an exclusive flock on a sidecar lock
file (STATE.lock), written to a temporary file and renamed over the old one:
readers never lock and always see a whole file, and no update is lost. The
lock lives on a separate file because a rename gives the state a new inode, and
a lock held on the old inode would not exclude the next writer.

Times are wall-clock seconds (time.time()): monotonic clocks do not survive a
process. A clock stepped backwards must not turn a 60 s cooldown into hours,
so the time left is never more than the cooldown's own length.

State is a cache of advice, not a record: a missing, unreadable or damaged
file reads as empty, and a write that fails is ignored (the next invocation
just pays a timeout it could have skipped). Stdlib only: this is on the
`generate` path.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

VERSION = 1
# A cooldown longer than this is clamped: a provider should never vanish for
# days because a server sent an absurd Retry-After.
MAX_COOLDOWN = 3600.0


@dataclass
class Cooldown:
    until: float  # wall-clock end
    seconds: float  # its length when (last) set
    reason: str = ""
    since: float = 0.0

    def left(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        return max(0.0, min(self.until - now, self.seconds))


# ---------------------------------------------------------------- reading


def read(path: Path) -> dict:
    """The whole state; {} when there is none or it cannot be parsed."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read() or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _cooldowns_of(data: dict) -> dict[str, Cooldown]:
    out = {}
    raw = data.get("cooldowns")
    if not isinstance(raw, dict):
        return out
    for name, c in raw.items():
        if not isinstance(c, dict):
            continue
        try:  # a damaged entry is ignored, never fatal
            until = float(c["until"])
            seconds = float(c.get("seconds", MAX_COOLDOWN))
            since = float(c.get("since") or 0.0)
        except (KeyError, TypeError, ValueError):
            continue
        out[str(name)] = Cooldown(until, seconds, str(c.get("reason") or ""), since)
    return out


def cooldown_entries(path: Path, now: float | None = None) -> dict[str, Cooldown]:
    """Active cooldowns with their reasons."""
    now = time.time() if now is None else now
    return {n: c for n, c in _cooldowns_of(read(path)).items() if c.left(now) > 0}


def cooldowns(path: Path, now: float | None = None) -> dict[str, float]:
    """{provider: seconds left} for every provider cooling down now."""
    now = time.time() if now is None else now
    return {n: c.left(now) for n, c in cooldown_entries(path, now).items()}


# ---------------------------------------------------------------- writing


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


def update(path: Path, change, now: float | None = None) -> object:
    """Apply change(data) -> result to the state under the lock and save it.

    Returns change's result, or None when the state could not be written (a
    read-only or full disk must not fail the call the state only advises).
    """
    path = Path(path)
    try:
        with _locked(path):
            data = read(path)
            result = change(data)
            data["version"] = VERSION
            _prune(data, time.time() if now is None else now)
            _write(path, data)
            return result
    except OSError:
        return None


def _prune(data: dict, now: float) -> None:
    raw = data.get("cooldowns")
    if not isinstance(raw, dict):
        data["cooldowns"] = {}
        return
    active = _cooldowns_of(data)
    data["cooldowns"] = {n: raw[n] for n, c in active.items() if c.left(now) > 0}


def start_cooldown(
    path: Path, name: str, seconds: float, reason: str, now: float | None = None
) -> float:
    """Put NAME in cooldown for SECONDS (clamped to MAX_COOLDOWN); an existing,
    later end is kept (the end is the later of old and new). Returns the
    seconds left after the change (0.0 when nothing could be written)."""
    seconds = max(0.0, min(float(seconds), MAX_COOLDOWN))

    def change(data: dict) -> float:
        t = time.time() if now is None else now
        cools = data.setdefault("cooldowns", {})
        if not isinstance(cools, dict):
            cools = data["cooldowns"] = {}
        old = _cooldowns_of(data).get(name)
        until = t + max(seconds, old.left(t) if old is not None else 0.0)
        # The reason is the latest failure's, even when an earlier end is kept.
        cools[name] = {
            "until": round(until, 3),
            "seconds": round(until - t, 3),
            "reason": reason[:200],
            "since": round(t, 3),
        }
        return until - t

    left = update(path, change, now)
    return float(left) if left is not None else 0.0


def clear_cooldown(path: Path, name: str) -> bool:
    """End NAME's cooldown. True when there was one. Does not touch the file
    when there is nothing to clear (the common case after a success)."""
    path = Path(path)
    if name not in _cooldowns_of(read(path)):
        return False

    def change(data: dict) -> bool:
        cools = data.get("cooldowns")
        return isinstance(cools, dict) and cools.pop(name, None) is not None

    return bool(update(path, change))


def peek_cursor(path: Path, key: str = "round-robin") -> int:
    """The value next_cursor would return, without moving it (for --dry-run)."""
    cursors = read(Path(path)).get("cursors")
    value = cursors.get(key) if isinstance(cursors, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def next_cursor(path: Path, key: str = "round-robin") -> int:
    """The cursor's value for this invocation; the stored one moves on by one.

    0 when the state cannot be written (every invocation then starts at the
    top, which is still a correct, if unrotated, order)."""

    def change(data: dict) -> int:
        cursors = data.setdefault("cursors", {})
        if not isinstance(cursors, dict):
            cursors = data["cursors"] = {}
        value = cursors.get(key)
        value = value if isinstance(value, int) and not isinstance(value, bool) else 0
        # Wrap well before JSON or anyone cares; any modulus of a rotation still works.
        cursors[key] = (value + 1) % (1 << 30)
        return value

    value = update(path, change)
    return int(value) if value is not None else 0
