"""The router's memory between invocations: cooldowns that learn, the
round-robin cursor, rate pacing buckets and the daily budget.

open_state() gives the backend the config asks for: the local JSON file
(file.py, the default) or Redis shared by many hosts (redis_backend.py, with
the file as fallback for advice). Both implement base.StateBackend.

The path-based functions below are the original interface, kept for the
callers that use the local file directly; they wrap FileState.
"""

from __future__ import annotations

from pathlib import Path

from rfctl.state.base import MAX_COOLDOWN, Cooldown, StateBackend
from rfctl.state.file import VERSION, FileState, read, update
from rfctl.state.settings import StateConfig, parse_state_section

__all__ = [
    "MAX_COOLDOWN",
    "VERSION",
    "Cooldown",
    "FileState",
    "StateBackend",
    "StateConfig",
    "clear_cooldown",
    "cooldown_entries",
    "cooldowns",
    "next_cursor",
    "open_state",
    "shared",
    "parse_state_section",
    "peek_cursor",
    "read",
    "start_cooldown",
    "update",
]


def open_state(paths, cfg_state: StateConfig | dict | None = None) -> StateBackend:
    """The state backend: Redis when [state] url is set, else the file at paths.state.

    cfg_state is the parsed StateConfig (or the raw [state] table, or None).
    Raises ConfigError for a directory as the state path, a bad [state] table,
    an unset password variable or a missing redis client; never connects
    eagerly, so an unreachable Redis costs nothing until the first call."""
    if not isinstance(cfg_state, StateConfig):
        cfg_state = parse_state_section(cfg_state)
    file = FileState(paths.state)
    from rfctl.state.file import check_path

    check_path(file.path)
    if not cfg_state.url:
        return file
    from rfctl.state.redis_backend import RedisState

    return RedisState(cfg_state, file)


_shared: dict = {}


def shared(paths, cfg_state: StateConfig | None = None) -> StateBackend:
    """open_state(), once per process for each state file and [state] table:
    a --jsonl batch's lines share one Redis connection pool."""
    cfg_state = cfg_state if isinstance(cfg_state, StateConfig) else parse_state_section(cfg_state)
    key = (str(paths.state), cfg_state)
    backend = _shared.get(key)
    if backend is None:
        backend = _shared[key] = open_state(paths, cfg_state)
    return backend


def forget_shared() -> None:
    """Close and drop the backends shared() opened (in-process test runs
    stand for separate invocations)."""
    for backend in _shared.values():
        backend.close()
    _shared.clear()


# ---------------------------------------------------------------- the original interface


def cooldown_entries(path: Path, now: float | None = None) -> dict[str, Cooldown]:
    """Active cooldowns with their reasons."""
    return FileState(path).cooldowns(now)


def cooldowns(path: Path, now: float | None = None) -> dict[str, float]:
    """{provider: seconds left} for every provider cooling down now."""
    entries = FileState(path).cooldowns(now)
    return {n: c.left(now) for n, c in entries.items()}


def start_cooldown(
    path: Path, name: str, seconds: float, reason: str, now: float | None = None
) -> float:
    """Put NAME in cooldown for SECONDS (clamped to MAX_COOLDOWN); an existing,
    later end is kept. Returns the seconds left after the change (0.0 when
    nothing could be written)."""
    return FileState(path).fail(name, lambda _failures: seconds, reason, now).left(now)


def clear_cooldown(path: Path, name: str) -> bool:
    """End NAME's cooldown. True when there was one. Does not touch the file
    when there is nothing to clear (the common case after a success)."""
    return FileState(path).succeed(name)


def peek_cursor(path: Path, key: str = "round-robin") -> int:
    """The value next_cursor would return, without moving it (for --dry-run)."""
    return FileState(path).peek_cursor(key)


def next_cursor(path: Path, key: str = "round-robin") -> int:
    """The cursor's value for this invocation; the stored one moves on by one."""
    return FileState(path).next_cursor(key)
