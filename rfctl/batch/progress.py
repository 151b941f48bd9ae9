"""The batch's progress line on a terminal: done/total, rate, errors, cost
so far and the time left.

Shown only when stderr is a terminal (never on stdout, and nothing at all
when stderr is a pipe or file) and stdout is not that same screen: results
written to a terminal are their own progress, and a live line redrawn
between them would tear them. rich is imported only then. The total is known
when stdin is a regular file (its lines are counted in the background, so the
first request does not wait for it); otherwise the line shows done/?.
Diagnostics printed while it is up (warnings, -v traces) appear above it.
"""

from __future__ import annotations

import os
import sys
import threading


def wanted(output_file: bool) -> bool:
    try:
        if not sys.stderr.isatty():
            return False
        if output_file:
            return True
        return not sys.stdout.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """Counts what finished; a rich live line shows it (updated a few times a second)."""

    def __init__(self):
        import rich.progress as rp
        from rich.console import Console
        from rich.text import Text

        class _Stats(rp.ProgressColumn):
            def render(self, task) -> Text:
                f = task.fields
                speed = task.finished_speed or task.speed
                rate = f"{speed:.1f}/s" if speed else "-/s"
                errors = f.get("errors", 0)
                parts = [rate, f"{errors} error{'s' if errors != 1 else ''}"]
                parts.append(f"${f.get('cost', 0.0):.4f}")
                if f.get("resumed"):
                    parts.append(f"{f['resumed']} resumed")
                return Text("  ".join(parts), style="red" if errors else "")

        self.lock = threading.Lock()
        self.done = self.errors = 0
        self.cost = 0.0
        self.resumed = 0
        self.bar = rp.Progress(
            rp.TextColumn("rfctl"),
            rp.BarColumn(),
            rp.MofNCompleteColumn(),
            _Stats(),
            rp.TextColumn("eta"),
            rp.TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            redirect_stdout=False,  # stdout carries results, never the line
            refresh_per_second=4,
            transient=False,
        )
        self.task = self.bar.add_task("batch", total=None, errors=0, cost=0.0, resumed=0)
        self.bar.start()

    def count_input(self, stream) -> None:
        """stdin is a regular file: count its lines in the background for the total."""
        try:
            fd = stream.fileno()
            import stat

            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return
            start = os.lseek(fd, 0, os.SEEK_CUR)
        except (AttributeError, OSError, ValueError):
            return
        threading.Thread(target=self._count, args=(fd, start), daemon=True).start()

    def _count(self, fd: int, offset: int) -> None:
        lines, last = 0, b"\n"
        try:
            while True:
                block = os.pread(fd, 1 << 20, offset)
                if not block:
                    break
                offset += len(block)
                # Blank lines are skipped by the batch: leave most of them
                # out (a run of three counts one; the total is a guide).
                lines += block.count(b"\n") - block.count(b"\n\n")
                lines -= last == b"\n" and block[:1] == b"\n"
                last = block[-1:]
        except OSError:
            return
        if last != b"\n":
            lines += 1
        self.bar.update(self.task, total=max(lines, 0))

    def record(self, ok: bool, cost: float | None, resumed: bool = False) -> None:
        with self.lock:
            self.done += 1
            self.errors += not ok
            self.resumed += resumed
            if cost and not resumed:
                self.cost += cost
            self.bar.update(
                self.task,
                completed=self.done,
                errors=self.errors,
                cost=self.cost,
                resumed=self.resumed,
            )

    def stop(self) -> None:
        self.bar.stop()
