"""--max-cost and the daily budget ([budget] daily_usd), checked before
anything is sent.

The worst-case estimate of the first choice must fit (for the daily budget:
today's spend from the log plus the estimate). If it does not, the call is
refused (exit 77) unless the strategy is `cost` or a free local provider is
in the chain: then it goes to the candidates that fit. A fallback that would
not fit is never tried. A paid model with no known price cannot be checked
and counts as not fitting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rfctl.errors import Exit, RfctlError
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
        from rfctl import usagelog

        pl.spent_today = usagelog.spent_today(paths.usage_log)
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
