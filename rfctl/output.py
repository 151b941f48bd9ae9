"""Where answers go: stdout, live as text arrives or all at once, or a file."""

from __future__ import annotations

import sys


def stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class LiveWriter:
    """Writes streamed text to stdout as it arrives and remembers how much went out."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.chars = 0
        self.last = ""

    def __call__(self, piece: str) -> None:
        if not piece:
            return
        self.stream.write(piece)
        self.stream.flush()
        self.chars += len(piece)
        self.last = piece[-1]

    def finish(self) -> None:
        if self.chars and self.last != "\n":
            self.stream.write("\n")
        self.stream.flush()


def with_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def check_writable(path: str) -> None:
    """Fail before anything is sent (and paid for), not after: exit 73."""
    import os

    from rfctl.errors import Exit, RfctlError

    if os.path.exists(path) and not os.path.isdir(path) and not os.path.isfile(path):
        if os.access(path, os.W_OK):  # /dev/stdout, a FIFO: written in place
            return
        raise RfctlError(f"cannot write {path}: permission denied", Exit.CANTCREAT)
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise RfctlError(f"cannot write {path}: directory missing or not writable", Exit.CANTCREAT)
    if os.path.isdir(path):
        raise RfctlError(f"cannot write {path}: is a directory", Exit.CANTCREAT)


def write_file(path: str, data: str) -> None:
    """-o FILE: the whole answer atomically (no file, or the old one, on failure)."""
    from rfctl.atomic import write_file_atomic
    from rfctl.errors import Exit, RfctlError

    try:
        write_file_atomic(path, data)
    except OSError as e:
        raise RfctlError(f"cannot write {path}: {e.strerror}", Exit.CANTCREAT) from None
