"""Where answers go: stdout (live or all at once) or a file written atomically."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def write_file_atomic(path: Path, data: str) -> None:
    """Write via a temp file in the same directory, then rename: readers see the
    old file or the whole new one, and a failed call leaves nothing behind."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            # Keep the mode a plain `>` redirection would give (umask), not mkstemp's 0600.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
