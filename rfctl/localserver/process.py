"""Processes by pid: what they run, stopping them, a free loopback port.

A managed server outlives the rfctl that started it, so everything here works
on bare pids (no Popen object). Stdlib only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time


def cmdline(pid: int) -> list[str] | None:
    """The command line PID runs now; None when it is gone, a zombie, or
    unreadable. /proc on Linux, ps elsewhere."""
    if pid <= 0:
        return None
    try:
        raw = open(f"/proc/{pid}/cmdline", "rb").read()  # noqa: SIM115
    except FileNotFoundError:
        return None
    except OSError:
        raw = None
    if raw is not None:
        return [a.decode("utf-8", "surrogateescape") for a in raw.split(b"\0") if a] or None
    if sys.platform.startswith("linux"):
        return None
    try:  # macOS, the BSDs: no /proc
        out = subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out.split() or None


def alive(pid: int) -> bool:
    return cmdline(pid) is not None


def terminate(pid: int, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after GRACE seconds. Returns when PID no longer
    runs (a zombie left for its parent to reap counts as stopped)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    end = time.monotonic() + grace
    while time.monotonic() < end:
        _reap(pid)
        if not alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    end = time.monotonic() + 5
    while alive(pid) and time.monotonic() < end:
        _reap(pid)
        time.sleep(0.05)


def _reap(pid: int) -> None:
    """Collect PID if it is our own child (the process that started the server
    and stops it, e.g. a test), so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def free_port() -> int:
    """A loopback port nobody listens on now (the server may still lose a race
    for it; the caller retries on a bind failure)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False
