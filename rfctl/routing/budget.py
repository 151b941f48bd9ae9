"""--max-cost and the daily budget ([budget] daily_usd), checked before
anything is sent.

The worst-case estimate of the first choice must fit (for the daily budget:
today's spend plus the estimate). If it does not, the call is
refused (exit 77) unless the strategy is `cost` or a free local provider is
in the chain: then it goes to the candidates that fit. A fallback that would
not fit is never tried. A paid model with no known price cannot be checked
and counts as not fitting.

The daily budget holds under concurrency: before each attempt on a paid
provider, reserve() holds its worst-case estimate in the router state (the
file under its lock, or Redis for a fleet), and only when today's spend plus
every live reservation plus this one fits; the attempt then settles its real
cost (or releases the hold when it cost nothing), and a process that died
leaves a hold that expires (its pid is gone, or the call's deadline plus a
minute passed). So parallel calls can overshoot the budget by no more than
one estimate minus its real cost, which is never positive.

Today's spend is the larger of the state's counter and the usage log: the
log still counts what was spent before the counter existed or under another
state file, and the counter counts calls made with --no-log or on other
hosts. The difference between the two is taken once per call (the state's
counter first, then the log; each attempt writes its record before it
settles, so a settle in between can only make the difference larger, never
let a call through that should not pass). A budget that cannot be checked
(the state cannot be written, Redis is down, the log exists but cannot be
read) refuses with exit 77 and the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rfctl.errors import BudgetError, Exit, RfctlError
from rfctl.routing.candidates import Candidate, Plan

if TYPE_CHECKING:
    from rfctl.config import Config, Paths
    from rfctl.settings import Options


def apply(
    cfg: Config, paths: Paths, opts: Options, pl: Plan, ready: list[Candidate]
) -> list[Candidate]:
    """The candidates that fit the tightest limit; the rest are dropped.
    Sets pl.error (exit 77) when nothing may be tried."""
    toks, max_tokens = pl.toks, pl.max_tokens
    limits: list[tuple[str, float]] = []
    if opts.max_cost is not None:
        limits.append(("--max-cost", opts.max_cost))
    if cfg.budget_daily_usd is not None and not all(c.free for c in ready):
        try:
            pl.spent_today = _spent_today(paths, pl)
        except BudgetError as e:
            pl.error = e
            return []
        limits.append(("daily budget", cfg.budget_daily_usd - pl.spent_today))
    if not limits:
        return ready
    label, room = min(limits, key=lambda x: x[1])

    def fits(c: Candidate) -> bool:
        if c.free:
            c.est_cost = 0.0
            return True
        # The byte bound first; count tokens only when the bound does not fit.
        c.est_cost = c.estimate(toks, max_tokens, exact=False)
        if c.est_cost is not None and c.est_cost > room:
            c.est_cost = c.estimate(toks, max_tokens, exact=True)
        return c.est_cost is not None and c.est_cost <= room

    verdict = [fits(c) for c in ready]
    if verdict[0] or pl.strategy == "cost" or any(c.free for c in ready):
        ok = [c for c, v in zip(ready, verdict, strict=True) if v]
    else:
        ok = []
    for c, v in zip(ready, verdict, strict=True):
        if not v:
            pl.drop(c, _over(c, label, room, pl.spent_today))
    if not ok:
        first = ready[0]
        pl.error = RfctlError(
            f"refused before sending: {first.name} ({first.model}): "
            f"{_over(first, label, room, pl.spent_today)}",
            Exit.NOPERM,
        )
    return ok


# A reservation outlives its call's deadline by this much before it expires.
HOLD_MARGIN_S = 60.0


def today() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%d")


def _spent_today(paths: Paths, pl: Plan) -> float:
    """max(the state's counter, the usage log) for today; BudgetError when
    either cannot be read. Sets pl.budget_extra: what the log knows beyond
    the counter."""
    from rfctl import usagelog

    counter = pl.state.spent(today())
    log = paths.usage_log
    try:
        with open(log, "rb"):
            pass
    except (FileNotFoundError, NotADirectoryError):
        pass  # nothing logged (nor loggable: the counter still holds the budget)
    except OSError as e:
        raise BudgetError(
            f"cannot check the daily budget: cannot read the usage log {log}: {e.strerror or e}"
        ) from None
    logged = usagelog.spent_today(log)
    pl.budget_extra = max(0.0, logged - counter)
    return counter + pl.budget_extra


def reserve(cfg: Config, pl: Plan, c: Candidate, deadline_s: float):
    """(backend, reservation id) holding c's worst-case estimate of today's
    budget, or None when there is no daily budget or c is free. Raises
    BudgetError (exit 77) when the budget is used up by the calls in flight,
    or cannot be checked."""
    if cfg.budget_daily_usd is None or c.free:
        return None
    amount = c.est_cost
    if amount is None:  # a candidate the plan did not price (cannot happen with a budget)
        raise BudgetError(f"refused before sending: {c.name}: the daily budget cannot be checked")
    limit = cfg.budget_daily_usd - pl.budget_extra
    rid = pl.state.reserve(today(), amount, limit, deadline_s + HOLD_MARGIN_S)
    if rid is None:
        raise BudgetError(
            f"refused before sending: {c.name} ({c.model}): estimated ${amount:.4f} would "
            f"exceed the daily budget of ${cfg.budget_daily_usd:.2f} with what is spent and "
            f"what calls in flight hold"
        )
    return pl.state, rid


def _over(c: Candidate, label: str, room: float, spent_today: float | None) -> str:
    if c.est_cost is None:
        return (
            f"price of {c.model or 'its model'} unknown, so {label} cannot be checked "
            f"(add prices in models.yaml)"
        )
    if label == "daily budget":
        return (
            f"estimated ${c.est_cost:.4f} would exceed the daily budget "
            f"(${spent_today or 0:.4f} spent today, ${max(room, 0):.4f} left)"
        )
    return f"estimated ${c.est_cost:.4f} exceeds --max-cost ${room:.4f}"
