"""The one appender of JSONL files (the usage log, conversations): whole
lines in one write() on an O_APPEND descriptor under an exclusive flock, so
concurrent writers never interleave or tear each other's lines.

os and fcntl alone: the fast path of `generate --cache` (rfctl/cache_hit.py)
writes its usage record through here without importing anything heavier.
"""

from __future__ import annotations

import fcntl
import os


def append_bytes(path, data: bytes) -> None:
    """Append `data` (whole lines) to PATH, creating the file (0600) and its
    directory (0700) as needed. Raises OSError (TypeError for a path that is
    none)."""
    fd = open_append(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        write_lines(fd, data)
    finally:
        os.close(fd)  # releases the lock


def open_append(path) -> int:
    """PATH opened for appending, created (0600, its directory 0700) if need be."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    # O_RDWR, not O_WRONLY: write_lines' pread checks the last byte.
    return os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)


def write_lines(fd: int, data: bytes, clean_end: int = -1) -> int:
    """Write whole lines under the caller's flock; returns where the file now
    ends. clean_end: a size at which the file is known to end in a newline
    (where this writer's last write ended), so the last byte need not be read."""
    # A writer that died mid-write (disk full) may have left a line with no
    # newline; start on a fresh line so that torn line stays the only
    # casualty instead of swallowing these lines too.
    size = os.fstat(fd).st_size
    if size and size != clean_end and os.pread(fd, 1, size - 1) != b"\n":
        data = b"\n" + data
    view = memoryview(data)
    while view:  # one write() in practice; loop only for a short write
        written = os.write(fd, view)
        view = view[written:]
    return size + len(data)
