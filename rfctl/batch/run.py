"""generate --jsonl: J workers answering the input's lines as they are read.

The reading thread hands (sequence, line) to J long-lived worker threads
through one queue; each worker plans and walks its line (rfctl.routing),
serialises the result and hands it to the sink (rfctl.batch.sink), which
writes it in input order or, with --unordered, at once. The reader blocks
when the window is full, so memory does not grow with the input.

Interruption (Ctrl-C, SIGTERM, SIGHUP: all raise KeyboardInterrupt here):
no new line is started, lines not yet started are dropped, and the lines in
flight get GRACE_S seconds to finish; those that do are written and logged
like any other. Then every finished result is written (in order, holes
left where lines did not finish), -o FILE is written with them, and the
attempts still on the wire end without cooldowns. A second Ctrl-C skips the
rest of the wait. A later --resume with the output runs exactly the lines
that have no result.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from dataclasses import replace

from rfctl.batch import resume
from rfctl.batch.lines import parse_line, read_lines
from rfctl.batch.sink import Done, InOrder, Unordered
from rfctl.errors import Exit, RfctlError, UsageError

# How long an interrupted batch waits for the lines in flight.
GRACE_S = 1.0
# In input order, at most this many lines are read ahead of the oldest line
# not yet written (more when -j is larger: 2 x J); --unordered holds 2 x J.
REORDER_WINDOW = 1024


def run_batch(args, cfg, paths) -> int:
    from rfctl import complete, pacing, routing, settings
    from rfctl.batch import progress as progress_line
    from rfctl.prompt_input import limit_of
    from rfctl.routing import Outcome, result_record

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    lines = read_lines(limit_of(args))
    defaults = settings.request(args, cfg, "-")
    base_opts = settings.options(args)
    # Set once an interrupted batch stops waiting: attempts still in flight
    # end without cooldowns or state writes (what they see next is the
    # user's doing, not the provider's).
    base_opts.cancel = threading.Event()
    base_opts.pace = pacing.for_call(args, cfg, paths, batch=True)
    base_opts.pace.cancel = base_opts.cancel
    carried = resume.load(args.resume) if getattr(args, "resume", None) else {}
    unordered = bool(getattr(args, "unordered", False))
    thoughts = None
    if base_opts.show_thinking:  # each line's reasoning, whole, once the line is answered
        from rfctl.reasoning import ReasoningWriter

        thoughts = ReasoningWriter()

    def answer(number: int, text: str) -> Done:
        line = parse_line(text, number, defaults)
        if carried and line.id in carried:
            return Done(carried[line.id], True, resumed=True)
        if line.error is not None:
            outcome = Outcome(routing.new_request_id(), error=line.error)
        else:
            opts = base_opts
            if line.provider or line.request.model:
                opts = replace(base_opts, providers=list(base_opts.providers))
                if line.provider:
                    opts.providers = [line.provider]
                if line.request.model:
                    opts.model = line.request.model
            try:
                outcome = routing.run(cfg, paths, line.request, opts)
            except RfctlError as e:  # e.g. a line naming an unknown provider: that line fails
                outcome = Outcome(routing.new_request_id(), error=e)
            complete.check(outcome, args.require_complete, warn=False)  # the record says why
            if line.request.schema is not None:
                from rfctl import schema

                schema.verdict(outcome)  # 65 when answers came but none validated
            if thoughts is not None and outcome.ok:
                thoughts.block(outcome.result.reasoning)
        rec = result_record(outcome, line.id, line.metadata)
        return Done(_dumps(rec), outcome.ok, outcome.cost_usd)

    show = progress_line.Progress() if progress_line.wanted(bool(args.output)) else None
    if show is not None:
        show.count_input(sys.stdin)
    out = _Output(args.output, show)
    window = 2 * args.jobs if unordered else max(REORDER_WINDOW, 2 * args.jobs)
    sink = (Unordered if unordered else InOrder)(out.write, window)
    from rfctl import registry, usagelog

    try:
        with usagelog.kept_open(paths.usage_log), registry.pinned(paths):
            _feed(lines, sink, _Workers(args.jobs, answer, sink), base_opts.cancel, out)
    finally:
        if show is not None:
            show.stop()
    return Exit.PARTIAL if out.failed else 0


def _feed(lines, sink, workers: _Workers, cancel: threading.Event, out: _Output) -> None:
    """Hand every line to the workers, then wait for the last result."""
    try:
        for number, text in enumerate(lines, 1):
            if text.strip():
                workers.put(sink.reserve(), number, text)
        sink.finish()
    except KeyboardInterrupt:
        workers.stop(GRACE_S)
        cancel.set()
        sink.flush_all()
        out.close(commit=True)
        raise
    except BaseException:
        cancel.set()
        workers.stop(0)
        raise
    workers.join()
    out.close(commit=True)


def _dumps(rec: dict) -> str:
    text = json.dumps(rec, ensure_ascii=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a server's text: escape it
        text = json.dumps(rec) + "\n"
    return text


class _Output:
    """stdout (a flush per run of records), or -o FILE kept until the end
    and written atomically."""

    def __init__(self, path: str | None, show):
        self.path = path
        self.kept: list[str] | None = [] if path else None
        self.show = show
        self.failed = 0
        self.closed = False

    def write(self, run: list[Done]) -> None:
        for d in run:
            self.failed += not d.ok
            if self.show is not None:
                self.show.record(d.ok, d.cost, d.resumed)
        if self.kept is not None:
            self.kept.extend(d.text for d in run)
            return
        sys.stdout.write(run[0].text if len(run) == 1 else "".join(d.text for d in run))
        sys.stdout.flush()

    def close(self, commit: bool) -> None:
        if self.closed or self.kept is None or not commit:
            return
        self.closed = True
        from rfctl.output import write_file

        write_file(self.path, "".join(self.kept))


class _Workers:
    """Up to J long-lived threads taking (seq, number, text) from one queue;
    one more is started for each of the first J lines (three lines with -j
    100 start three)."""

    def __init__(self, jobs: int, answer, sink):
        self.answer, self.sink, self.jobs = answer, sink, jobs
        self.q: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Condition(threading.Lock())
        self.running = 0
        self.stopping = False
        self.threads: list[threading.Thread] = []

    def put(self, seq: int, number: int, text: str) -> None:
        if len(self.threads) < self.jobs:
            t = threading.Thread(target=self._work, name=f"rfctl-batch-{len(self.threads)}")
            self.threads.append(t)
            t.start()
        self.q.put((seq, number, text))

    def _work(self) -> None:
        q, sink, lock = self.q, self.sink, self.lock
        while True:
            item = q.get()
            if item is None:
                return
            with lock:
                if self.stopping:
                    continue
                self.running += 1
            seq, number, text = item
            try:
                rec = self.answer(number, text)
            except KeyboardInterrupt:  # cancelled in flight: nothing to write
                rec = None
            except BaseException as e:  # a bug: the reader raises it
                sink.failed(e)
                rec = None
            try:
                sink.done(seq, rec)
            finally:
                with lock:
                    self.running -= 1
                    if self.stopping and not self.running:
                        lock.notify_all()

    def join(self) -> None:
        for _ in self.threads:
            self.q.put(None)
        for t in self.threads:
            t.join()

    def stop(self, grace: float) -> None:
        """Start nothing more; wait up to GRACE seconds for the lines in flight."""
        import time

        with self.lock:
            self.stopping = True
        for _ in self.threads:
            self.q.put(None)  # idle workers end; busy ones end after their line
        end = time.monotonic() + grace
        try:
            with self.lock:
                while self.running:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    self.lock.wait(left)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
            pass
