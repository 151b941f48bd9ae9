"""The standard streams, made dependable once at start-up.

- A descriptor 0, 1 or 2 that the shell closed (`2>&-`, `>&-`, `<&-`) gets
  /dev/null opened on it. Otherwise the next file rfctl opens (the usage log,
  the state file) would be given that number, and whatever is written to
  "stderr" at the C level would land inside it. Python has already set
  sys.stdin/stdout/stderr to None for a closed descriptor, and that stays:
  a closed stdout is still an error (73), a closed stderr still drops
  diagnostics, a closed stdin still reads as no stdin.
- stdout is written as UTF-8, whatever the locale or PYTHONIOENCODING say:
  answers are data, and UTF-8 is what rfctl reads as well. A lone UTF-16
  surrogate (a broken server's `\\ud800` escape) cannot be encoded: it is
  written as U+FFFD, and a high and low surrogate that arrive as two code
  points are joined into the one character they stand for. Never an error.
- stderr keeps the terminal's encoding (a person reads it), with characters
  it cannot show written as backslash escapes instead of losing the line.
"""

from __future__ import annotations

import codecs
import os
import sys

SURROGATES = "rfctl-surrogates"  # the codec error handler below, by name


def _surrogates(err: UnicodeError):
    if not isinstance(err, UnicodeEncodeError):
        raise err
    bad = err.object[err.start : err.end]
    # Joins a high+low pair into one character; a lone half becomes U+FFFD.
    fixed = bad.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    try:
        # Bytes: the UTF-8 encoder takes only ASCII text from a handler.
        return fixed.encode(err.encoding), err.end
    except (UnicodeError, LookupError):
        return "?" * len(bad), err.end


codecs.register_error(SURROGATES, _surrogates)


def utf8(text: str) -> bytes:
    """TEXT as UTF-8 bytes, surrogates handled as on stdout."""
    return text.encode("utf-8", SURROGATES)


def prepare() -> None:
    """Call first thing in main(): cheap (three fstat calls, two reconfigures)."""
    _claim_closed_descriptors()
    _reconfigure(sys.stdout, encoding="utf-8", errors=SURROGATES)
    _reconfigure(sys.stderr, errors="backslashreplace")


def _claim_closed_descriptors() -> None:
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            null = os.open(os.devnull, os.O_RDWR)
        except OSError:
            return
        if null != fd:
            os.dup2(null, fd)
            os.close(null)


def _reconfigure(stream, **how) -> None:
    reconfigure = getattr(stream, "reconfigure", None)  # None: closed, or not a TextIOWrapper
    if reconfigure is None:
        return
    try:
        reconfigure(**how)
    except (OSError, ValueError):
        pass
