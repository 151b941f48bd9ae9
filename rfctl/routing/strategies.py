"""The order in which candidates are tried: one function per strategy.

Each takes the kept candidates (in priority order: config order, or the -p
order) and returns them reordered; ties keep priority order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rfctl.routing.candidates import EXACT_FOR_COST_ABOVE, Candidate

if TYPE_CHECKING:
    from rfctl.config import Paths
    from rfctl.tokens import PromptTokens


def priority(cands: list[Candidate], **_) -> list[Candidate]:
    return cands


def round_robin(
    cands: list[Candidate], *, paths: Paths, dry: bool, state=None, **_
) -> list[Candidate]:
    """A cursor in the router state (the file, or Redis shared by many hosts)
    moves on by one per call (--dry-run only reads it)."""
    if not cands:
        return cands
    if state is None:
        from rfctl.state import FileState

        state = FileState(paths.state)
    cursor = state.peek_cursor() if dry else state.next_cursor()
    k = cursor % len(cands)
    return cands[k:] + cands[:k]


def cost(
    cands: list[Candidate], *, toks: PromptTokens, max_tokens: int | None, **_
) -> list[Candidate]:
    """Cheapest worst-case estimate first: input plus the whole max_tokens at
    registry prices; local kinds cost 0; unknown prices last."""
    for c in cands:
        if c.est_cost is None:
            c.est_cost = c.estimate(toks, max_tokens, exact=toks.bound > EXACT_FOR_COST_ABOVE)
    index = {id(c): i for i, c in enumerate(cands)}
    return sorted(cands, key=lambda c: (c.est_cost is None, c.est_cost or 0.0, index[id(c)]))


def latency(cands: list[Candidate], *, paths: Paths, **_) -> list[Candidate]:
    """Fastest p50 of recent ok attempts (the usage log's tail) first;
    providers with no data after those with data."""
    from rfctl import usagelog

    p50 = usagelog.recent_latency_p50(paths.usage_log, [c.name for c in cands])
    for c in cands:
        if c.name in p50:
            c.why += f"; p50 {p50[c.name]:.0f} ms"
    index = {id(c): i for i, c in enumerate(cands)}
    return sorted(cands, key=lambda c: (c.name not in p50, p50.get(c.name, 0.0), index[id(c)]))


BY_NAME = {
    "priority": priority,
    "round-robin": round_robin,
    "cost": cost,
    "latency": latency,
}


def order(
    cands: list[Candidate],
    strategy: str,
    *,
    paths: Paths,
    toks: PromptTokens,
    max_tokens: int | None,
    dry: bool,
    state=None,
) -> list[Candidate]:
    return BY_NAME.get(strategy, priority)(
        cands, paths=paths, toks=toks, max_tokens=max_tokens, dry=dry, state=state
    )
