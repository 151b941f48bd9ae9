"""Start, reuse and stop the llama-server a `llamacpp` provider with a
`model_file` asks for.

The first call starts the server on a free loopback port and waits for its
/health; later calls (concurrent ones too: the start happens under the
provider's lock, and whoever waited for it finds the record) reuse it. Each
call touches the use file; a watchdog process stops the server when nobody
used it for `idle_timeout` seconds. Nothing here writes to the terminal: the
server's output goes to its log file, and failures are RfctlErrors.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rfctl.errors import Exit, RfctlError
from rfctl.localserver import model as mdl
from rfctl.localserver import process as proc_
from rfctl.localserver import runtime as rtm

DEFAULT_IDLE_TIMEOUT = 600.0
START_TIMEOUT = 120.0
BIND_RETRIES = 3  # a free port can be taken between our probe and the server's bind
_WATCHDOG = "rfctl.localserver.watchdog"


@dataclass(frozen=True)
class Wanted:
    """What a provider's config asks the server to be."""

    name: str
    model_file: str
    idle_timeout: float
    alias: str
    extra_args: tuple[str, ...] = ()
    server_binary: str | None = None


def is_managed(p) -> bool:
    """Does rfctl run this provider's server? (A llamacpp provider naming a model_file.)"""
    return getattr(p, "kind", None) == "llamacpp" and bool(getattr(p, "model_file", None))


def wanted(p) -> Wanted:
    model_file = str(p.model_file)
    idle = getattr(p, "idle_timeout", None)
    if model_file == mdl.BUNDLED:
        alias = p.model or mdl.BUNDLED_ALIAS
    else:
        alias = p.model or Path(model_file).stem
    extra = tuple(str(a) for a in (getattr(p, "server_args", None) or ()))
    binary = getattr(p, "server_binary", None) or None
    return Wanted(p.name, model_file, float(idle or DEFAULT_IDLE_TIMEOUT), alias, extra, binary)


def state_dir(paths) -> Path:
    """The directory of the state file: the managed servers' files live beside it."""
    return Path(paths.state).parent


# ---------------------------------------------------------------- ensure_running


def ensure_running(p, paths, *, timeout: float = START_TIMEOUT) -> str:
    """The base URL (http://127.0.0.1:PORT/v1) of P's server, started if need be.
    Idempotent; safe to call from many processes at once."""
    want = wanted(p)
    files = rtm.files_for(state_dir(paths), want.name)
    binary = mdl.find_binary(want.server_binary)
    try:
        with rtm.locked(files):
            return _ensure_locked(want, files, binary, timeout)
    except OSError as e:  # an unwritable state directory, a full disk
        where = e.filename or files.directory
        raise RfctlError(f"cannot write {where}: {e.strerror or e}", Exit.UNAVAILABLE) from None


def _ensure_locked(want: Wanted, files: rtm.ServerFiles, binary: str, timeout: float) -> str:
    model = mdl.model_path(want.model_file)
    template = None
    if want.model_file == mdl.BUNDLED or model.name == mdl.BUNDLED_FILE:
        template = files.template
        _write_if_changed(template, mdl.RAW_TEMPLATE)
    args = mdl.server_args(model, want.alias, template, list(want.extra_args))

    rt = rtm.read(files.record)
    verdict = rtm.judge(rt, proc_.cmdline(rt.pid) if rt else None, str(model), binary, args)
    if verdict == "alive" and not proc_.port_open(rt.port):
        verdict = "changed"  # ours but not listening: wedged, replace it
    if verdict == "alive":
        rtm.touch(files.used)
        _keep_watched(files, rt, want.idle_timeout)
        return rt.base_url
    if verdict == "changed":
        _stop_recorded(files, rt)
    rtm.remove(files.record)
    return _start(want, files, binary, str(model), args, timeout).base_url


def _keep_watched(files: rtm.ServerFiles, rt: rtm.Runtime, idle_timeout: float) -> None:
    """A changed idle_timeout takes effect on the running server (the watchdog
    rereads the record); a watchdog that died is replaced."""
    changed = rt.idle_timeout != idle_timeout
    rt.idle_timeout = idle_timeout
    if not _is_watchdog(rt.watchdog_pid, files):
        rt.watchdog_pid = _spawn_watchdog(files, rt)
        changed = True
    if changed:
        rtm.write(files.record, rt)


def _start(
    want: Wanted, files: rtm.ServerFiles, binary: str, model: str, args: list[str], timeout: float
) -> rtm.Runtime:
    deadline = time.monotonic() + timeout
    for attempt in range(1, BIND_RETRIES + 1):
        port = proc_.free_port()
        _rotate_log(files.log)
        with open(files.log, "ab") as log:
            try:
                server = subprocess.Popen(
                    [binary, *args, "--host", "127.0.0.1", "--port", str(port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a Ctrl-C meant for rfctl does not reach it
                    cwd="/",
                )
            except OSError as e:
                raise RfctlError(
                    f"cannot run {binary}: {e.strerror or e}",
                    Exit.UNAVAILABLE,
                ) from None
        rt = rtm.Runtime(
            pid=server.pid,
            port=port,
            model_file=model,
            binary=binary,
            started=time.time(),
            args=args,
            idle_timeout=want.idle_timeout,
            log=str(files.log),
        )
        try:
            rtm.write(files.record, rt)
            rtm.touch(files.used)
            # Watched from the start: should this rfctl die while it waits, the
            # server still stops by itself once idle.
            rt.watchdog_pid = _spawn_watchdog(files, rt)
            rtm.write(files.record, rt)
            outcome = _wait_ready(server, port, deadline)
        except BaseException:  # Ctrl-C while waiting, a full disk: leave nothing running
            _stop_recorded(files, rt)
            rtm.remove(files.record)
            raise
        if outcome == "ready":
            rtm.touch(files.used)
            return rt
        _stop_recorded(files, rt)
        rtm.remove(files.record)
        last = _last_log_line(files.log)
        if outcome == "exited" and "bind" in last and attempt < BIND_RETRIES:
            continue
        raise RfctlError(_start_failure(server, outcome, timeout, last, files.log))
    raise AssertionError("unreachable")


def _wait_ready(server: subprocess.Popen, port: int, deadline: float) -> str:
    """ready | exited | timeout. /health answers 503 while the model loads."""
    import urllib.error
    import urllib.request

    url = f"http://127.0.0.1:{port}/health"
    while True:
        if server.poll() is not None:
            return "exited"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return "ready"
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(0.1)


def _start_failure(server, outcome: str, timeout: float, last: str, log: Path) -> str:
    if outcome == "timeout":
        what = f"llama-server was not ready within {timeout:g} s"
    elif server.returncode is not None and server.returncode < 0:
        import signal

        try:
            sig = signal.Signals(-server.returncode).name
        except ValueError:
            sig = f"signal {-server.returncode}"
        what = f"llama-server was killed by {sig} while starting"
    else:
        what = f"llama-server exited with status {server.returncode} while starting"
    detail = f": {last}" if last else ""
    return f"{what}{detail} (log: {log})"


def _last_log_line(log: Path, limit: int = 160) -> str:
    """The last error line of the server's log (else its last line), shortened:
    enough to name the problem, the log file has the rest."""
    try:
        with open(log, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    lines = [ln.strip() for ln in lines if ln.strip()]
    if not lines:
        return ""
    errors = [ln for ln in lines if " E " in ln[:24] or "error" in ln.lower()]
    line = (errors or lines)[-1]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _rotate_log(log: Path) -> None:
    """Keep the previous run's log (NAME.log.1): it may say why that run died."""
    try:
        os.replace(log, log.with_name(log.name + ".1"))
    except OSError:
        pass


def _write_if_changed(path: Path, text: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    from rfctl.atomic import write_file_atomic

    write_file_atomic(path, text, 0o600, durable=False)


# ---------------------------------------------------------------- watchdog


def _spawn_watchdog(files: rtm.ServerFiles, rt: rtm.Runtime) -> int | None:
    """Start `python -m rfctl.localserver.watchdog RECORD PID`, detached. Its
    PYTHONPATH names this rfctl, whatever the caller's sys.path was."""
    import rfctl

    root = str(Path(rfctl.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(x for x in (root, env.get("PYTHONPATH")) if x)
    try:
        with open(files.log, "ab") as log:
            child = subprocess.Popen(
                [sys.executable or "python3", "-m", _WATCHDOG, str(files.record), str(rt.pid)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
                env=env,
            )
    except OSError:
        return None  # the server still runs; the next call tries again
    return child.pid


def _is_watchdog(pid: int | None, files: rtm.ServerFiles) -> bool:
    argv = proc_.cmdline(pid) if pid else None
    return bool(argv) and _WATCHDOG in argv and str(files.record) in argv


def _stop_recorded(files: rtm.ServerFiles, rt: rtm.Runtime) -> None:
    """Stop the recorded server (if the pid still runs it) and its watchdog."""
    if _is_watchdog(rt.watchdog_pid, files):
        proc_.terminate(rt.watchdog_pid, grace=2)
    if rtm.is_server_cmdline(proc_.cmdline(rt.pid), rt):
        proc_.terminate(rt.pid)


# ---------------------------------------------------------------- status, stop


@dataclass
class Status:
    name: str
    state: str  # running | stale
    runtime: rtm.Runtime | None
    idle: float = 0.0  # seconds since the last use
    log: str = ""

    @property
    def stops_in(self) -> float:
        return max(0.0, self.runtime.idle_timeout - self.idle) if self.runtime else 0.0

    def as_json(self) -> dict:
        rt = self.runtime
        out = {"name": self.name, "state": self.state, "log": self.log}
        if rt is not None:
            out.update(
                pid=rt.pid,
                port=rt.port,
                base_url=rt.base_url,
                model_file=rt.model_file,
                started=round(rt.started, 3),
                idle_seconds=round(self.idle, 1),
                idle_timeout=rt.idle_timeout,
                stops_in=round(self.stops_in, 1),
            )
        return out


def status(paths, name: str | None = None) -> list[Status]:
    """Every recorded server (or NAME's); reads only, starts and stops nothing."""
    out = []
    for files in _selected(paths, name):
        rt = rtm.read(files.record)
        if rt is None:
            out.append(Status(files.name, "stale", None, log=str(files.log)))
            continue
        running = rtm.is_server_cmdline(proc_.cmdline(rt.pid), rt)
        idle = rtm.idle_for(files, rt)
        out.append(Status(files.name, "running" if running else "stale", rt, idle, rt.log))
    return out


def stop(paths, name: str | None = None) -> list[Status]:
    """Stop every recorded server (or NAME's) and forget it. Returns what was
    found, with the state it was in."""
    out = []
    for files in _selected(paths, name):
        with rtm.locked(files):
            rt = rtm.read(files.record)
            if rt is None:
                rtm.remove(files.record)
                continue
            running = rtm.is_server_cmdline(proc_.cmdline(rt.pid), rt)
            _stop_recorded(files, rt)
            rtm.remove(files.record)
            out.append(Status(files.name, "running" if running else "stale", rt, 0.0, rt.log))
    return out


def current(p, paths):
    """P as it can be reached now: a managed provider with its running
    server's URL, None when its server is not running (nothing is started);
    any other provider as it is."""
    if not is_managed(p):
        return p
    for s in status(paths, p.name):
        if s.state == "running" and s.runtime is not None:
            from dataclasses import replace

            return replace(p, base_url=s.runtime.base_url)
    return None


def started(p, paths, *, timeout: float = START_TIMEOUT):
    """P with its server's URL, started if need be (RfctlError when it cannot
    start); any other provider as it is."""
    if not is_managed(p):
        return p
    from dataclasses import replace

    return replace(p, base_url=ensure_running(p, paths, timeout=timeout))


def _selected(paths, name: str | None) -> list[rtm.ServerFiles]:
    found = rtm.all_files(state_dir(paths))
    return [f for f in found if f.name == name] if name else found
