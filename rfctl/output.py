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
        self.held = ""  # a high surrogate whose low half may come in the next piece

    def __call__(self, piece: str) -> None:
        piece = self.held + piece
        self.held = ""
        if piece and "\ud800" <= piece[-1] <= "\udbff":
            piece, self.held = piece[:-1], piece[-1]
        if not piece:
            return
        self.stream.write(piece)
        self.stream.flush()
        self.chars += len(piece)
        self.last = piece[-1]

    def finish(self) -> None:
        if self.held:  # never completed: written as U+FFFD (rfctl.stdio)
            self.stream.write(self.held)
            self.chars += 1
            self.last, self.held = self.held, ""
        if self.chars and self.last != "\n":
            self.stream.write("\n")
        self.stream.flush()


def with_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def output_path(path: str | None) -> str | None:
    """-o's value: `-o -` means stdout, as for most Unix tools (None), never a
    file named `-`."""
    return None if path == "-" else path


def check_writable(path: str) -> None:
    """Fail before anything is sent (and paid for), not after: exit 73. The
    check is the write itself: a temporary file is created beside the target
    (where the answer will be written) and removed again, so a directory that
    looks writable but is not (/proc, a read-only mount) is caught here."""
    import os
    import tempfile

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
    name = os.path.basename(os.path.realpath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise RfctlError(f"cannot write {path}: {e.strerror or e}", Exit.CANTCREAT) from None
    os.close(fd)
    os.unlink(tmp)


def write_file(path: str, data: str) -> None:
    """-o FILE: the whole answer atomically (no file, or the old one, on
    failure), as UTF-8 with surrogates handled as on stdout (rfctl.stdio)."""
    from rfctl.atomic import write_file_atomic
    from rfctl.errors import Exit, RfctlError
    from rfctl.stdio import utf8

    try:
        write_file_atomic(path, utf8(data))
    except OSError as e:
        raise RfctlError(f"cannot write {path}: {e.strerror}", Exit.CANTCREAT) from None
