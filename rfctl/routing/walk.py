"""The fallback loop: each candidate of the plan in turn, with attempts under
its retry policy (rfctl.routing.retry) within the time left before the
deadline, until one answers or a failure ends the call.

- connection refused, connect timeouts and a server that never answered move
  on at once; so do repeated 5xx once retries are spent, and a Retry-After
  beyond max_retry_after. Whether that starts a cooldown is
  rfctl.routing.cooldown's call; a success clears the provider's cooldown.
- a provider that accepted the request and then went silent or broke its
  stream is not asked again: the walk falls over to the next candidate. With
  buffered output this is invisible: the answer is written once, complete,
  by whichever candidate finished it.
- live output: a failure after some text was written is continued by the
  next candidate that can (rfctl.routing.continuation), else ends the call
  with an error naming the provider and how many characters were written.
- context too long: skip to candidates with a larger (or unknown) window,
  never the same model again.
- content-policy refusal: the call ends with the provider's reason (exit 69).

Every attempt, failed ones included, is one usage-log record (request_id
shared, attempt numbered across the walk, the model actually used). An
attempt still in flight when the call is interrupted (Ctrl-C, SIGTERM, SIGHUP,
a closed output pipe) is booked as `interrupted` by rfctl.ledger and starts
no cooldown. With a daily budget each paid attempt first reserves its
estimate (rfctl.routing.budget) and settles its cost after its record.
"""

from __future__ import annotations

from dataclasses import replace

from rfctl import console, ledger, settings
from rfctl.config import Config, Paths
from rfctl.errors import BudgetError
from rfctl.ledger import Attempt
from rfctl.providers.base import OnText, ProviderError, Request, Result
from rfctl.routing import attempt, clock, continuation, verdict
from rfctl.routing.candidates import Candidate, Plan
from rfctl.routing.outcome import Outcome
from rfctl.settings import Options, Policy


class _Cut(Exception):
    """A failure after live text was written: the call ends here."""

    def __init__(self, error: ProviderError, chars: int):
        super().__init__(error.short())
        self.error = error
        self.chars = chars


class Walk:
    """One generate call walking its plan; fills in the Outcome."""

    def __init__(
        self,
        cfg: Config,
        paths: Paths,
        req: Request,
        opts: Options,
        on_text: OnText | None,
        outcome: Outcome,
        start: float,
        pl: Plan,
    ):
        self.plan = pl
        self.cfg, self.paths, self.req, self.opts = cfg, paths, req, opts
        self.outcome = outcome
        self.deadline_s = settings.deadline(cfg, opts)
        self.deadline = start + self.deadline_s
        self.live = attempt.Live(on_text) if opts.live else None
        self.errors: list[tuple[str, ProviderError]] = []
        self.pending_wait = 0.0
        self.reg = pl.reg
        self.toks = pl.toks

    def say(self, text: str) -> None:
        console.say(self.opts.verbose, text)

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        pl = self.plan
        too_small: list[tuple[object, str, int | None]] = []  # context overflows
        skipped_deadline: list[str] = []
        for i, c in enumerate(pl.candidates):
            if _overflowed(c, too_small):
                self.say(
                    f"skip {c.name}: its context window is no larger than one "
                    f"that already overflowed"
                )
                continue
            if clock.monotonic() >= self.deadline:
                skipped_deadline = [x.name for x in pl.candidates[i:]]
                break
            if c.probe:
                self.say(f"probe {c.name}: every candidate is cooling down")
            elif c.trial:
                self.say(f"trial {c.name}: its cooldown ended; one attempt")
            pol = settings.retry_policy(self.cfg, self.opts, c.provider, probe=c.probe or c.trial)
            before = len(self.outcome.attempts)
            try:
                result = self.candidate(c, pol)
            except BudgetError as e:  # the budget is held by calls in flight, or cannot be checked
                self.outcome.error = e
                return
            except _Cut as cut:
                self.errors.append((c.name, cut.error))
                # Continued by a later candidate that can, else the call ends cut.
                continuation.resume(self, c, cut, pl.candidates[i + 1 :])
                return
            except ProviderError as e:
                self.errors.append((c.name, e))
                cooled = self._cool(c, e, self.outcome.attempts[before:], pol)
                nxt = next((x.name for x in pl.candidates[i + 1 :]), None)
                if e.kind == "refusal":
                    step = "refused: stop"
                else:
                    step = f"next: {nxt}" if nxt else "no more candidates"
                self._trace(self.outcome.attempts[-1], "; ".join(x for x in (cooled, step) if x))
                self._body(e)
                if e.kind == "refusal":
                    self.outcome.error = verdict.refused(c.name, e)
                    return
                if e.kind == "context":
                    too_small.append((c.entry, (c.model or "").lower(), c.context))
                continue
            self._trace(self.outcome.attempts[-1])
            self.outcome.result, self.outcome.provider = result, c.provider
            # A success ends any cooldown and its streak (no write when there is none).
            self.plan.state.succeed(c.name)
            return
        self.outcome.error = verdict.exhausted(self.errors, skipped_deadline, self.deadline_s)

    def _cool(self, c: Candidate, e: ProviderError, mine: list[Attempt], pol: Policy) -> str:
        from rfctl.routing import cooldown

        d = self.cfg.defaults
        cd = cooldown.decide(
            e,
            mine,
            pol,
            default_s=d.cooldown,
            probe=c.probe or c.trial,
            out_of_time=clock.monotonic() >= self.deadline - 0.01,
        )
        if cd is None:
            return ""
        entry = self.plan.state.fail(
            c.name, cooldown.schedule(cd, d.cooldown_base, d.cooldown), cd.reason
        )
        return f"cooldown {entry.left():.3g} s"

    # ------------------------------------------------------------ one candidate

    def candidate(self, c: Candidate, pol: Policy, prefill: str | None = None) -> Result:
        """Attempts on one provider under the retry policy; raises the last failure.
        prefill: the answer so far, for a continuation."""
        from rfctl.pacing import paced
        from rfctl.providers import make_adapter

        adapter = attempt.adapter_for(c.provider, make_adapter, self.paths)
        adapter = paced(self.opts.pace, c.provider, adapter)  # --rpm/--tpm, Retry-After holds
        r = replace(self.req, model=c.model, stream=True, prefill=prefill)  # stream: TTFT, stalls

        try:
            return self.once(c, adapter, r)  # most calls end here, with no retry machinery
        except ProviderError as e:
            first = e

        from rfctl.routing.retry import retrying

        def before_sleep(rs) -> None:
            wait = rs.upcoming_sleep if rs.next_action is None else rs.next_action.sleep
            self.pending_wait = wait
            self._trace(self.outcome.attempts[-1], f"retry in {wait:.2f} s")

        tries = retrying(
            pol,
            deadline=self.deadline,
            clock=clock.monotonic,
            sleep=clock.sleep,
            before_sleep=before_sleep,
        )
        for n, tenacity_attempt in enumerate(tries):
            with tenacity_attempt:
                if n == 0:
                    raise first  # the attempt already made: the policy counts it
                return self.once(c, adapter, r)
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def once(self, c: Candidate, adapter, r: Request) -> Result:
        n = len(self.outcome.attempts) + 1
        wait, self.pending_wait = self.pending_wait, 0.0
        t = settings.timeouts(
            self.cfg, self.opts, c.provider, stream=r.stream, deadline_at=self.deadline
        )
        flight = ledger.Flight(
            self.paths.usage_log if self.opts.log else None,
            self.outcome.request_id,
            c.provider,
            r.model or c.provider.model,
            n,
            wait,
            self.toks,
            entry=c.entry,
            stream=r.stream,
            relay=self.live,
        )
        flight.hold = self.reserve(c)
        ledger.take_off(flight)  # from here on, this attempt is booked whatever happens
        tried = attempt.call(adapter, r, t, self.live, self.opts.cancel, relay=flight)
        if not ledger.land(flight):
            raise KeyboardInterrupt  # stopping: interrupted() booked this attempt
        if tried.error is not None:
            e = tried.error
            a = ledger.failure(
                c.name,
                c.provider.kind,
                e,
                model=flight.model,
                number=n,
                wait_s=wait,
                latency_ms=tried.latency_ms,
                flight=flight,
            )
            self._book(a, r.stream, finish="error")
            flight.settle(a.cost_usd)  # after the log: see rfctl.routing.budget
            if tried.cut:
                raise _Cut(e, self.live.chars)
            raise e
        result = tried.result
        model, cost, source = ledger.settled(
            result, c.provider, sent=r.model, planned=c.entry, registry=self.reg, prompt=self.toks
        )
        a = ledger.success(
            c.name,
            c.provider.kind,
            result,
            model=model,
            number=n,
            wait_s=wait,
            cost=cost,
            price_source=source,
        )
        if n > 1:  # a retry on the first provider tried, or a fallback
            a.fallback = self.outcome.attempts[0].provider != c.name
        self.outcome.cost_usd = cost
        self._book(a, result.stream, usage=result.usage, finish=result.finish_reason)
        flight.settle(cost if cost is not None else c.est_cost)
        return result

    def reserve(self, c: Candidate):
        """Hold c's worst-case estimate of the daily budget before sending
        (rfctl.routing.budget); None when there is no daily budget to hold."""
        from rfctl.routing import budget

        return budget.reserve(self.cfg, self.plan, c, self.deadline_s)

    def _book(self, a: Attempt, stream: bool, usage=None, finish: str | None = None) -> None:
        self.outcome.attempts.append(a)
        if self.opts.log:
            ledger.log(
                self.paths.usage_log,
                self.outcome.request_id,
                a,
                stream=stream,
                usage=usage,
                finish=finish,
            )

    def _body(self, e: ProviderError) -> None:
        """-v: the error body the server sent (bounded and redacted by the
        adapter), a line at a time; the error line itself stays one line."""
        if not self.opts.verbose or not getattr(e, "body", None):
            return
        from rfctl.providers.text import one_line

        for line in e.body.splitlines()[:50]:
            if line.strip():
                self.say(f"  body: {one_line(line, 500)}")

    def _trace(self, a: Attempt, then: str = "") -> None:
        if not self.opts.verbose:
            return
        what = "ok" if a.status == "ok" else f"error {a.error}"
        extra = f", ttft {a.ttft_ms:.0f} ms" if a.ttft_ms is not None else ""
        line = f"attempt {a.attempt}: {a.provider} {a.model or '-'}: {what} ({a.latency_ms:.0f} ms{extra})"
        self.say(f"{line}; {then}" if then else line)


def _overflowed(c: Candidate, too_small) -> bool:
    """Did a candidate with the same model, or no larger a window, overflow?"""
    for entry, name, ctx in too_small:
        if entry is not None and c.entry is entry:
            return True
        if name and (c.model or "").lower() == name:
            return True
        mine = c.context
        if ctx is not None and mine is not None and mine <= ctx:
            return True
    return False
