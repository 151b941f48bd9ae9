"""Where answers go: stdout (live or all at once) or a file written atomically."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path


def write_file_atomic(path, data: str, mode: int | None = None) -> None:
    """Replace PATH with DATA so that readers see the old file or the whole new
    one, and a failed call leaves nothing behind.

    The temp file lives in the same directory as the real target (os.replace
    is atomic only within a filesystem; a symlink is followed, not replaced)
    and is named .NAME.*.tmp (node_exporter's textfile collector reads *.prom
    only). A target that is not a regular file (/dev/stdout, a FIFO, a device)
    cannot be replaced and is written in place. The mode is the existing
    file's, else what a plain `>` redirection would give (0666 less the
    umask), unless `mode` says otherwise.
    """
    import stat

    try:
        st = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "w", encoding="utf-8") as f:
            f.write(data)
        return
    path = Path(os.path.realpath(path))
    directory = path.parent
    if mode is None and st is not None:
        mode = stat.S_IMODE(st.st_mode)
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable; not every filesystem can fsync a directory.
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


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
