"""Exit codes (sysexits.h style; docs/commands.md lists them) and the exceptions
that carry them to the CLI.

Anything raised as an RfctlError ends the process with one line
`rfctl: error: MESSAGE` on stderr and its exit code; nothing else should reach
the user as a traceback.
"""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    OK = 0
    PARTIAL = 1  # --jsonl batch finished, some lines failed
    USAGE = 2
    DATAERR = 65  # bad input data
    UNAVAILABLE = 69  # no provider could serve, a failure was not transient
    TEMPFAIL = 75  # every failure was transient
    CANTCREAT = 73  # cannot write the -o output file
    NOPERM = 77  # refused by a cost limit
    CONFIG = 78
    INTERRUPTED = 130


class RfctlError(Exception):
    """An expected failure: one line for the user and an exit code."""

    code: int = Exit.UNAVAILABLE

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(RfctlError):
    code = Exit.CONFIG


class InputError(RfctlError):
    code = Exit.DATAERR


class UsageError(RfctlError):
    code = Exit.USAGE


class BudgetError(RfctlError):
    code = Exit.NOPERM
