"""python -m rfctl.localserver.watchdog RECORD PID: stop an idle managed server.

Started detached next to every managed llama-server (llama-server's own
--sleep-idle-seconds only unloads the model; it never exits). It polls the use
file's mtime; once nobody used the server for the record's idle_timeout (and
no slot is busy with a long generation), it takes the provider's lock, checks
again (a call may have just touched the file), stops the server and removes
the record. It exits as soon as the record no longer names PID (the server was
stopped or replaced) or PID no longer runs the server.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

from rfctl.localserver import process as proc_
from rfctl.localserver import runtime as rtm


def _files(record: Path) -> rtm.ServerFiles:
    return rtm.ServerFiles(record.parent, record.stem)


def _busy(port: int) -> bool:
    """Is a slot generating right now? (/slots; unknown counts as not busy.)"""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/slots", timeout=5) as r:
            slots = json.loads(r.read())
    except (OSError, ValueError):
        return False
    return isinstance(slots, list) and any(
        isinstance(s, dict) and s.get("is_processing") for s in slots
    )


def _poll_interval(idle_timeout: float) -> float:
    return min(5.0, max(0.2, idle_timeout / 10))


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with contextlib.suppress(OSError, ValueError):
        print(f"{stamp} rfctl watchdog: {message}", flush=True)


def watch(record: Path, pid: int, clock=time.time, sleep=time.sleep) -> str:
    """Run until the server is gone; returns why this watchdog stopped."""
    files = _files(record)
    while True:
        rt = rtm.read(record)
        if rt is None or rt.pid != pid:
            return "replaced"
        if not rtm.is_server_cmdline(proc_.cmdline(pid), rt):
            with rtm.locked(files):
                now = rtm.read(record)
                if now is not None and now.pid == pid:
                    rtm.remove(record)
            return "gone"
        idle = rtm.idle_for(files, rt, clock())
        if idle >= rt.idle_timeout:
            if _busy(rt.port):
                rtm.touch(files.used)  # a long generation is a use
                sleep(_poll_interval(rt.idle_timeout))
                continue
            with rtm.locked(files):
                rt = rtm.read(record)
                if rt is None or rt.pid != pid:
                    return "replaced"
                idle = rtm.idle_for(files, rt, clock())
                if idle >= rt.idle_timeout:
                    _log(f"idle for {idle:.0f} s, stopping llama-server (pid {pid})")
                    proc_.terminate(pid)
                    rtm.remove(record)
                    return "idle"
        sleep(min(_poll_interval(rt.idle_timeout), max(0.05, rt.idle_timeout - idle)))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m rfctl.localserver.watchdog RECORD PID", file=sys.stderr)
        return 2
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # detached; `rfctl local stop` uses SIGTERM
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        watch(Path(argv[0]), int(argv[1]))
    except OSError as e:  # the state directory vanished: nothing left to guard
        _log(f"stopped: {e}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
