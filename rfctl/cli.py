"""The entry point: `main()` turns every expected failure into one line on
stderr and an exit code; `program()` does the work and handles none of them.

`rfctl --version` answers before anything else is imported or built (scripts
run it to check that the tool exists); `rfctl models --names` (shell
completion, on every TAB) skips building the full parser.

SIGTERM and SIGHUP end the call as Ctrl-C does (exit 128 + the signal's
number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), and every request
still on the wire is booked in the usage log as `interrupted` before the
process exits (rfctl.ledger.interrupted), as is one whose output pipe closed.
"""

from __future__ import annotations

import errno
import os
import signal
import sys

from rfctl import __version__, console
from rfctl.errors import Exit, RfctlError


class Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP: handled as Ctrl-C, with its own exit code."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, frame):
    raise Signalled(signum)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from rfctl import stdio

    stdio.prepare()  # closed descriptors, UTF-8 answers: before any file is opened
    _books("open_books")
    saved = _install_handlers()
    try:
        return _main(argv)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        _books("open_books")  # an in-process caller may send again


def _install_handlers() -> dict:
    """SIGTERM and SIGHUP raise Signalled (only the main thread may set handlers)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    saved = {s: signal.getsignal(s) for s in _STOP_SIGNALS}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if saved[signum] is not signal.SIG_IGN:  # nohup: keep ignoring SIGHUP
            signal.signal(signum, _on_signal)
    return saved


def _books(what: str, *args) -> None:
    """Call rfctl.ledger.WHAT when this process has loaded the ledger. It is
    imported by the first attempt, so a process that has not loaded it has
    nothing in flight to book, and `--version` or a cache hit never pay for it."""
    ledger = sys.modules.get("rfctl.ledger")
    if ledger is not None:
        getattr(ledger, what)(*args)


def _main(argv: list[str]) -> int:
    try:
        return program(argv)
    except RfctlError as e:
        _books("interrupted", f"stopped: {e.message}"[:200])
        console.error(e.message)
        return int(e.code)
    except KeyboardInterrupt as e:
        # A second signal during clean-up should not print a traceback either,
        # and worker threads still waiting on a server must not hold the exit.
        signum = getattr(e, "signum", signal.SIGINT)
        _ignore_stop_signals()
        _books("interrupted", f"interrupted by {signal.Signals(signum).name}")
        return _exit_now(128 + signum, newline=True)
    except BrokenPipeError:
        _books("interrupted", "output closed")
        _quiet_broken_pipe()
        return _exit_now(0)  # a --jsonl pool may still wait on servers
    except OSError as e:
        if e.errno == errno.EPIPE:
            _books("interrupted", "output closed")
            _quiet_broken_pipe()
            return _exit_now(0)
        _books("interrupted", "output failed")
        # Typically stdout itself failing (a full disk, /dev/full).
        where = e.filename or "output"
        console.error(f"cannot write {where}: {e.strerror or e}")
        return _exit_now(Exit.CANTCREAT)


def _ignore_stop_signals() -> None:
    import threading

    if threading.current_thread() is threading.main_thread():
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def program(argv: list[str]) -> int:
    """Parse argv and run the command; errors propagate to main()."""
    if argv == ["--version"]:  # the hot path for scripts that check the tool exists
        print(f"rfctl {__version__}")
        return 0
    if argv[:1] == ["models"] and "--names" in argv:
        from rfctl.commands.models import names_fast

        code = names_fast(argv[1:])
        if code is not None:
            return code
    if sys.stdout is None:  # started with stdout closed (`>&-`): nowhere to answer
        raise RfctlError("stdout is closed", Exit.CANTCREAT)
    if argv[:1] == ["generate"]:
        # A `generate --cache` repeated as it was (a Makefile re-run): answered
        # from the cache before the parser and the config are built.
        from rfctl.cache_hit import answer

        code = answer(argv[1:])
        if code is not None:
            return code
    from rfctl.commands.parser import build_parser

    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


def _quiet_broken_pipe() -> None:
    # The reader went away (`rfctl ... | head -1`): stop quietly. Point stdout at
    # /dev/null so the interpreter's final flush does not raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _exit_now(code: int, newline: bool = False) -> int:
    """Flush and exit. os._exit when worker threads (a --jsonl pool waiting on a
    silent server) are still alive, since a normal exit would join them."""
    import threading

    for stream in (sys.stdout, sys.stderr):
        try:
            if newline and stream is sys.stderr:
                stream.write("\n")
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        os._exit(int(code))
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
