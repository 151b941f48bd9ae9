"""The one atomic file writer: readers see the old file or the whole new one.

Used for every file rfctl replaces: `generate -o`, `config init`, `probe
--textfile`, the registry cache and the router state. A failed write leaves
the old file (or none) and no temp file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def write_file_atomic(
    path, data: str | bytes, mode: int | None = None, *, durable: bool = True
) -> None:
    """Replace PATH with DATA.

    The temp file lives in the same directory as the real target (os.replace
    is atomic only within a filesystem; a symlink is followed, not replaced)
    and is named .NAME.*.tmp (node_exporter's textfile collector reads *.prom
    only). A target that is not a regular file (/dev/stdout, a FIFO, a device)
    cannot be replaced and is written in place. The mode is the existing
    file's, else what a plain `>` redirection would give (0666 less the
    umask), unless `mode` says otherwise. durable=False skips the fsyncs, for
    caches and state that may be lost in a power cut but never torn.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        st = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "wb") as f:
            f.write(raw)
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
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if not durable:
        return
    # Make the rename itself durable; not every filesystem can fsync a directory.
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
