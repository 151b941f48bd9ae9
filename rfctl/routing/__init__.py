"""Choosing providers and walking them: the facade.

One call goes through two stages: plan() decides which providers may serve
the request, in which order, and why the others may not (rfctl.routing.plan);
the walk tries them in turn with retries and fallback (rfctl.routing.walk).
run() never raises for a provider failure: Outcome.error carries it, with
the exit code (rfctl.routing.verdict).
"""

from __future__ import annotations

from rfctl.config import Config, Paths
from rfctl.providers.base import OnText, Request
from rfctl.routing import clock
from rfctl.routing.attempt import check_cancel
from rfctl.routing.outcome import Outcome, new_request_id, result_record
from rfctl.routing.plan import plan, preview
from rfctl.settings import Options

__all__ = ["Options", "Outcome", "new_request_id", "plan", "preview", "result_record", "run"]


def run(
    cfg: Config, paths: Paths, req: Request, opts: Options, on_text: OnText | None = None
) -> Outcome:
    """Serve one request: plan, then walk the candidates. Raises ConfigError
    for a configuration problem found before anything is sent."""
    from rfctl import console
    from rfctl.routing.walk import Walk

    check_cancel(opts.cancel)  # before plan(): round-robin moves a cursor in the state file
    outcome = Outcome(new_request_id())
    start = clock.monotonic()
    pl = plan(cfg, paths, req, opts)
    for c in pl.dropped:
        console.say(opts.verbose, f"skip {c.name}: {c.why}")
    if pl.error is not None:
        outcome.error = pl.error
        return outcome
    Walk(cfg, paths, req, opts, on_text, outcome, start, pl).run()
    return outcome
