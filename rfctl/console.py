"""The one writer of diagnostics: errors, warnings and -v traces, on stderr.

Everything a person (not a program) reads goes through here, so that the
rules hold everywhere: one line per message, prefixed `rfctl:`; never on
stdout, which carries answers (with stderr closed, `2>&-`, diagnostics are
dropped rather than written into the answer); a failing stderr (a closed
pipe) never turns into an exception of its own.
"""

from __future__ import annotations

import sys
import threading

_warned: set[str] = set()
_lock = threading.Lock()


def _write(line: str) -> None:
    stream = sys.stderr
    if stream is None:  # started with stderr closed: print() would pick stdout
        return
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError, UnicodeError):
        pass


def error(message: str) -> None:
    _write(f"rfctl: error: {message}")


def warn(message: str) -> None:
    _write(f"rfctl: warning: {message}")


def warn_once(message: str) -> None:
    """A warning printed at most once per process (worker threads included)."""
    with _lock:
        if message in _warned:
            return
        _warned.add(message)
    warn(message)


def say(verbose: int, message: str, level: int = 1) -> None:
    """A -v trace line, printed when `verbose` is at least `level`."""
    if verbose >= level:
        _write(f"rfctl: {message}")


def reset() -> None:
    """Forget which warnings were printed (tests run many calls in one process)."""
    with _lock:
        _warned.clear()
