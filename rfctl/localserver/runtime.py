"""The files of one managed llama-server, and whether a recorded one is reusable.

Per provider NAME, under the state directory's `local/`:

    NAME.json   the runtime record: {pid, port, model_file, started, binary, ...}
    NAME.lock   flock'ed by whoever starts, stops or reuses the server
    NAME.used   touched by every call; its mtime is the last use
    NAME.log    the server's own output (the previous run's is NAME.log.1)

The lock is a separate file because the record is replaced by a rename (a new
inode), and a lock on the old inode would not exclude the next writer. A lock
dies with its holder, so it is never stale; the record can be (a crash, a
reboot, a reused pid), which is what `judge` decides. Stdlib only.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

VERSION = 1


@dataclass(frozen=True)
class ServerFiles:
    directory: Path
    name: str

    @property
    def record(self) -> Path:
        return self.directory / f"{self.name}.json"

    @property
    def lock(self) -> Path:
        return self.directory / f"{self.name}.lock"

    @property
    def used(self) -> Path:
        return self.directory / f"{self.name}.used"

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    @property
    def template(self) -> Path:
        return self.directory / f"{self.name}.jinja"


def files_for(state_dir: Path, name: str) -> ServerFiles:
    return ServerFiles(Path(state_dir) / "local", name)


def all_files(state_dir: Path) -> list[ServerFiles]:
    """Every provider with a runtime record, by name."""
    directory = Path(state_dir) / "local"
    try:
        names = sorted(p.stem for p in directory.glob("*.json"))
    except OSError:
        return []
    return [ServerFiles(directory, n) for n in names]


@dataclass
class Runtime:
    pid: int
    port: int
    model_file: str
    binary: str
    started: float
    args: list[str] = field(default_factory=list)  # everything after the binary
    idle_timeout: float = 600.0
    watchdog_pid: int | None = None
    log: str = ""
    version: int = VERSION

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def as_json(self) -> dict:
        return asdict(self)


def read(path: Path) -> Runtime | None:
    """The record at PATH; None when absent or damaged (a damaged one is stale)."""
    try:
        data = json.loads(Path(path).read_bytes())
        rt = Runtime(
            pid=int(data["pid"]),
            port=int(data["port"]),
            model_file=str(data["model_file"]),
            binary=str(data["binary"]),
            started=float(data["started"]),
            args=[str(a) for a in data.get("args") or []],
            idle_timeout=float(data.get("idle_timeout", 600.0)),
            watchdog_pid=int(data["watchdog_pid"]) if data.get("watchdog_pid") else None,
            log=str(data.get("log") or ""),
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return rt if rt.pid > 0 and 0 < rt.port < 65536 else None


def write(path: Path, rt: Runtime) -> None:
    from rfctl.atomic import write_file_atomic

    body = json.dumps(rt.as_json(), indent=1, sort_keys=True) + "\n"
    write_file_atomic(path, body, 0o600, durable=False)


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@contextlib.contextmanager
def locked(files: ServerFiles):
    """Exclusive lock on the server's lock file for a start, stop or reuse."""
    import fcntl

    files.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(files.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def touch(path: Path) -> None:
    """Mark a use now (the idle clock restarts)."""
    try:
        os.utime(path, None)
    except FileNotFoundError:
        with contextlib.suppress(OSError), open(path, "ab"):
            pass
    except OSError:
        pass


def last_use(path: Path) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def idle_for(files: ServerFiles, rt: Runtime, now: float | None = None) -> float:
    """Seconds since the last use (or the start, if nothing used it since)."""
    now = time.time() if now is None else now
    used = last_use(files.used)
    since = max(rt.started, used) if used is not None else rt.started
    return max(0.0, now - since)


# ---------------------------------------------------------------- decisions


def is_server_cmdline(argv: list[str] | None, rt: Runtime) -> bool:
    """Is the process with this command line the server RT describes? A pid can
    be reused by any program after a crash or reboot, so the pid alone says
    nothing: the program and its --port must match."""
    if not argv:
        return False  # gone, a zombie, or not ours to read
    # argv[1] too: a llama-server that is a script runs as `interpreter script ...`.
    if os.path.basename(rt.binary) not in {os.path.basename(a) for a in argv[:2]}:
        return False
    return any(a == "--port" and b == str(rt.port) for a, b in itertools.pairwise(argv))


def judge(
    rt: Runtime | None,
    argv: list[str] | None,
    want_model: str,
    want_binary: str,
    want_args: list[str],
) -> str:
    """What to do with a recorded server, given the command line its pid runs now.

    absent   nothing recorded: start one
    dead     the pid runs nothing, or something else (reused): forget it, start one
    changed  ours, but for another model, binary or arguments: stop it, start one
    alive    ours and as configured: reuse it
    """
    if rt is None:
        return "absent"
    if not is_server_cmdline(argv, rt):
        return "dead"
    if (rt.model_file, rt.binary, rt.args) != (want_model, want_binary, want_args):
        return "changed"
    return "alive"
