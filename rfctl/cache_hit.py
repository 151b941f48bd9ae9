"""The fast path of `generate --cache`: a repeated invocation answered
before the parser is built or the config is read.

Through the normal path a hit still pays for argparse and every command's
parser, the config (TOML, pathlib, dataclasses), the settings and the
routing modules: several times what starting rfctl costs. But an invocation
that is byte for byte one answered before (the same arguments, the same
stdin, the same environment, and the same config and registry files) has
the same answer. So after a call answered with --cache (from the cache or by
a provider), the normal path leaves a memo under the fingerprint of those
inputs: which cache entry answered, the files it read (with their sha256),
the TTL and the usage record to write. answer() looks for that memo with
os, json and hashlib alone, checks that every file is unchanged and the entry
still valid, and prints the answer. Anything else (an option that reads
other files or changes the output's form, a changed file, a missing or
expired entry) falls through to the normal path, which reads the same stdin.

cli.program is to call answer() first for `rfctl generate ...`, before it
builds the parser; without that call no memo is ever written and this
module does nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time

FORMAT = 1
# Options whose effect on the answer is all in the arguments (their values
# are part of the fingerprint), or none at all.
_VALUED = frozenset(
    {
        "-m",
        "--model",
        "-p",
        "--provider",
        "-s",
        "--system",
        "-t",
        "--temperature",
        "--max-tokens",
        "--stop",
        "--strategy",
        "--capability",
        "--timeout",
        "--deadline",
        "--retries",
        "--max-cost",
        "-o",
        "--output",
        "--config",
        "--models-file",
        "--usage-log",
        "--state",
    }
)
_FLAGS = frozenset({"--cache", "--no-log", "--no-fallback", "--no-stream"})
# The environment the normal path reads files, servers and keys from.
_ENV = (
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "RFCTL_CONFIG",
    "RFCTL_MODELS",
    "RFCTL_USAGE_LOG",
    "RFCTL_STATE",
    "OLLAMA_HOST",
)
# Set by answer() when it found no memo: the normal path then leaves one.
pending: str | None = None


def memo_dir() -> str:
    """Beside the entries (rfctl.cache.default_dir), so `rfctl cache clear` removes them too."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rfctl", "responses", "memo")


def _options(argv: list[str]) -> dict | None:
    """The options answer() needs ({"-o": path, "--no-log": True}), or None
    when argv holds anything the fast path does not take."""
    out: dict = {}
    it = iter(argv)
    cache = False
    for arg in it:
        if not arg.startswith("-") or arg == "-":
            continue  # a prompt word
        name, eq, value = arg.partition("=")
        if name in _FLAGS and not eq:
            cache = cache or name == "--cache"
            out[name] = True
        elif name in _VALUED:
            if eq and not name.startswith("--"):
                return None  # "-o=x": argparse reads the value "=x"; leave it to argparse
            if not eq:
                value = next(it, None)
                if value is None:
                    return None
            out["-o" if name == "--output" else name] = value
        else:
            return None
    return out if cache else None


def fingerprint(argv: list[str], stdin: bytes | None) -> str:
    from rfctl import __version__

    keys = sorted(
        k for k, v in os.environ.items() if v and k.endswith(("_KEY", "_TOKEN", "_API_KEY"))
    )
    doc = {
        "format": FORMAT,
        "version": __version__,
        "argv": argv,
        "stdin": None if stdin is None else hashlib.sha256(stdin).hexdigest(),
        "env": {k: os.environ.get(k) for k in _ENV},
        "keys_set": keys,  # which keys are present decides the candidates; never a value
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def file_digest(path) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


_UNREADABLE = object()
MAX_STDIN = 16 << 20  # a larger input is not worth memoising: the normal path reads it


def _read_stdin():
    """stdin's bytes (at most MAX_STDIN); None when there is no stdin to read
    (a terminal, closed); _UNREADABLE when it is too large or not bytes.
    Whatever was read is handed back: the normal path reads the same stdin."""
    stdin = sys.stdin
    if stdin is None or stdin.isatty():
        return None
    if not hasattr(stdin, "buffer"):
        return _UNREADABLE
    data = stdin.buffer.read(MAX_STDIN + 1)
    rest = stdin if len(data) > MAX_STDIN else None
    sys.stdin = io.TextIOWrapper(io.BufferedReader(_Replay(data, rest)), encoding="utf-8")
    return _UNREADABLE if rest is not None else data


class _Replay(io.RawIOBase):
    """A raw stream: the bytes already read, then the rest of the original."""

    def __init__(self, head: bytes, rest):
        super().__init__()
        # rest: the original text stream, kept (closing it would close its buffer)
        self.head, self.rest = io.BytesIO(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self.head.readinto(buf)
        if n or self.rest is None:
            return n
        data = self.rest.buffer.read1(len(buf))
        buf[: len(data)] = data
        return len(data)


def answer(argv: list[str]) -> int | None:
    """Exit code 0 after printing a memoised answer; None: take the normal path."""
    global pending
    pending = None
    opts = _options(argv)
    if opts is None or sys.stdout is None:
        return None
    data = _read_stdin()
    if data is _UNREADABLE:
        return None
    fp = fingerprint(argv, data)
    pending = fp
    memo = _load(os.path.join(memo_dir(), fp + ".json"))
    if memo is None:
        return None
    entry = _entry(memo)
    if entry is None:
        return None
    t0 = time.monotonic()
    text = entry["text"]
    text = text if text.endswith("\n") or not text else text + "\n"
    out = opts.get("-o")
    if out is not None:
        from rfctl.errors import RfctlError
        from rfctl.output import check_writable, write_file

        try:
            check_writable(out)
            write_file(out, text)
        except RfctlError:
            return None  # the normal path says why, with its exit code
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    try:
        os.utime(memo["entry_path"], None)  # a use, for LRU pruning
    except OSError:
        pass
    if not opts.get("--no-log"):
        _log(memo, (time.monotonic() - t0) * 1000.0)
    pending = None
    return 0


def _load(path: str) -> dict | None:
    try:
        with open(path, "rb") as f:
            memo = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(memo, dict) or memo.get("format") != FORMAT:
        return None
    files = memo.get("files")
    if not isinstance(files, dict) or not isinstance(memo.get("record"), dict):
        return None
    for path, digest in files.items():  # the config and registry it was answered with
        if file_digest(path) != digest:
            return None
    return memo


def _entry(memo: dict) -> dict | None:
    """The cache entry, if it is still whole, the one named and not expired."""
    path, key = memo.get("entry_path"), memo.get("key")
    try:
        with open(path, "rb") as f:
            entry = json.loads(f.read())
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or entry.get("format") != 1:
        return None
    created, ttl = entry.get("created"), memo.get("ttl")
    if not isinstance(created, int | float) or not isinstance(ttl, int | float):
        return None
    if time.time() - created >= ttl or not isinstance(entry.get("text"), str):
        return None
    return entry


def _log(memo: dict, latency_ms: float) -> None:
    """The hit's usage record: the one the normal path would write, in the
    usage log's layout (its keys, in its order), appended as usagelog does."""
    now = time.time()
    rec = dict(memo["record"])
    # usagelog.now_iso()'s layout: '2026-11-29T01:30:06.123Z'
    rec["ts"] = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    )
    rec["request_id"] = os.urandom(8).hex()
    rec["latency_ms"] = round(latency_ms, 1)
    line = (json.dumps(rec, separators=(",", ":")) + "\n").encode("ascii")
    path = memo.get("usage_log")
    try:
        from rfctl.appendlog import append_bytes

        append_bytes(path, line)
    except (OSError, TypeError) as e:
        from rfctl.console import warn

        warn(f"cannot write usage log {path}: {getattr(e, 'strerror', None) or e}")


def remember(entry_path: str, key: str, ttl: float, files: list, usage_log, record: str) -> None:
    """Leave the memo for this invocation (the normal path, after a --cache
    call that answered). record: the hit's usage record as usagelog writes it."""
    global pending
    fp, pending = pending, None
    if fp is None:
        return
    memo = {
        "format": FORMAT,
        "key": key,
        "entry_path": str(entry_path),
        "ttl": ttl,
        "files": {str(p): file_digest(p) for p in files},
        "usage_log": str(usage_log),
        "record": json.loads(record),
    }
    from rfctl.atomic import write_file_atomic

    try:
        os.makedirs(memo_dir(), mode=0o700, exist_ok=True)
        write_file_atomic(
            os.path.join(memo_dir(), fp + ".json"), json.dumps(memo).encode(), 0o600, durable=False
        )
    except OSError:
        pass  # only ever an optimisation
