"""Where a batch's results go, in input order or as they finish.

A worker hands each finished line's record (already serialised) to the sink,
which writes it under one lock, so there is no writer thread and no queue:

- InOrder writes a record once it and every line before it are done. At most
  `window` lines are read ahead of the oldest unwritten one (in flight,
  queued or done and waiting for it): that bounds memory, and the reader
  blocks beyond it.
- Unordered writes each record the moment it is done; the window then only
  bounds the lines in flight or queued.

A failure to write (a closed pipe) is kept and raised in the reading thread
at its next call; so is a bug in a worker. On an interruption, flush_all()
writes every record that is done, holes or not: what was paid for is not
lost, and each record carries its id for --resume.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Done:
    """One line's result, ready to be written."""

    text: str  # the JSON record and its newline
    ok: bool
    cost: float | None = None
    resumed: bool = False  # carried over from --resume FILE, not sent again


class Sink:
    def __init__(self, write: Callable[[list[Done]], None], window: int):
        self.write = write  # writes a run of records (one flush per run)
        self.window = window
        self.cond = threading.Condition(threading.Lock())
        self.sent = 0  # lines handed out (sequence numbers given)
        self.released = 0  # lines no longer counted against the window
        # What the reader sleeps on cond for: "room" in the window, the "end"
        # of the batch, or None (awake). Workers wake it only for that, not
        # after every line: each wake-up is a GIL hand-off.
        self.waiting: str | None = None
        self.error: BaseException | None = None

    # ------------------------------------------------------------ the reader's side

    def reserve(self) -> int:
        """A sequence number for the next line, once the window has room."""
        with self.cond:
            while self.sent - self.released >= self.window and self.error is None:
                self._wait("room")
            self._raise()
            seq = self.sent
            self.sent += 1
            return seq

    def finish(self, timeout: float | None = None) -> bool:
        """Wait until every line handed out is written (False on timeout)."""
        import time

        end = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while self.pending() and self.error is None:
                if end is not None:
                    left = end - time.monotonic()
                    if left <= 0:
                        return False
                    self._wait("end", left)
                else:
                    self._wait("end")
            self._raise()
            return True

    def _wait(self, what: str, timeout: float | None = None) -> None:
        self.waiting = what
        try:
            self.cond.wait(timeout)
        finally:
            self.waiting = None

    def _wake(self) -> None:
        """After a line was released: wake the reader if that is what it waits for."""
        w = self.waiting
        if w is None:
            return
        if w == "end" and self.pending():
            return
        # Room for half a window at least: the reader then hands over that many
        # lines in one go instead of waking once per line.
        if w == "room" and self.sent - self.released > self.window // 2:
            return
        self.cond.notify()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    # ------------------------------------------------------------ the workers' side

    def failed(self, error: BaseException) -> None:
        """A worker's bug: the reader raises it."""
        with self.cond:
            if self.error is None:
                self.error = error
            self.cond.notify_all()

    def _emit(self, run: list[Done]) -> bool:
        """Write a run of records under the lock; False once writing failed."""
        try:
            self.write(run)
        except BaseException as e:
            self.error = e
            self.cond.notify_all()
            return False
        return True

    # subclasses: done(seq, rec), skipped(seq), pending(), flush_all()


class InOrder(Sink):
    def __init__(self, write, window: int):
        super().__init__(write, window)
        self.held: dict[int, Done | None] = {}  # done, waiting for an earlier line
        self.next = 0  # the next sequence number to write

    def done(self, seq: int, rec: Done | None) -> None:
        """Line seq is finished (None: it was dropped, nothing to write)."""
        with self.cond:
            self.held[seq] = rec
            if seq != self.next or self.error is not None:
                return
            run = []
            held = self.held
            while self.next in held:
                r = held.pop(self.next)
                if r is not None:
                    run.append(r)
                self.next += 1
            self.released = self.next
            if run and not self._emit(run):
                return
            self._wake()

    def pending(self) -> bool:
        return self.next < self.sent

    def flush_all(self) -> None:
        """Interrupted: write every finished record, holes or not."""
        with self.cond:
            run = [r for _, r in sorted(self.held.items()) if r is not None]
            self.held.clear()
            if run and self.error is None:
                self._emit(run)


class Unordered(Sink):
    def __init__(self, write, window: int):
        super().__init__(write, window)
        self.finished = 0

    def done(self, seq: int, rec: Done | None) -> None:
        with self.cond:
            self.finished += 1
            self.released += 1
            if rec is not None and self.error is None and not self._emit([rec]):
                return
            self._wake()

    def pending(self) -> bool:
        return self.finished < self.sent

    def flush_all(self) -> None:
        return None  # every finished record is already written
