"""What planning produces: each candidate provider, why it was kept or
dropped, and the plan that orders them. Plain data, shared by the planning
steps (plan, strategies, budget), the walk and the dry-run view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rfctl.errors import RfctlError

if TYPE_CHECKING:
    from rfctl.config import Paths, ProviderConfig
    from rfctl.tokens import PromptTokens

# Below this many bytes the byte bound is used as the estimate for ordering by
# cost: the output tokens dominate, and a tokenizer would cost more than it saves.
EXACT_FOR_COST_ABOVE = 4096


class LazyRegistry:
    """The registry, loaded on first use (the stub path may not need it)."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self._reg = None

    def __call__(self):
        if self._reg is None:
            from rfctl import registry

            self._reg = registry.load(self.paths)
        return self._reg


@dataclass
class Candidate:
    provider: ProviderConfig
    model: str | None  # the name sent (None: the adapter's own choice)
    entry: object | None = None  # registry.ModelEntry
    kept: bool = True
    why: str = ""  # why kept, or why dropped
    est_cost: float | None = None  # worst case, USD
    free: bool = False
    cooling: float = 0.0  # seconds of cooldown left
    probe: bool = False  # one attempt only: everything is cooling
    trial: bool = False  # one attempt only: its cooldown just ended
    failures: int = 0  # failures in a row so far (the state's count)
    media_tokens: int = 0  # prompt tokens the attachments add for this candidate

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def context(self) -> int | None:
        return getattr(self.entry, "context", None)

    @property
    def prices(self):
        """The price a call would pay (rfctl.cost.price_for: user, genai-prices, rfctl)."""
        from rfctl.cost import price_for

        return None if self.free else price_for(self.provider, self.entry, self.model)

    def estimate(self, toks: PromptTokens, max_tokens: int | None, *, exact: bool) -> float | None:
        """Worst-case cost in USD: the prompt (by its byte bound, or counted)
        plus the whole max_tokens (else the model's longest output)."""
        from rfctl.cost import estimate_cost

        if self.free:
            return 0.0
        n = (toks.exact(self.model) if exact else toks.bound) + self.media_tokens
        out = (
            max_tokens if max_tokens is not None else (getattr(self.entry, "max_output", None) or 0)
        )
        return estimate_cost(n, out, self.prices, free=False)

    def as_json(self) -> dict:
        out = {
            "provider": self.name,
            "kind": self.provider.kind,
            "model": self.model,
            "kept": self.kept,
            "why": self.why,
            "context": self.context,
            "estimated_cost_usd": None if self.est_cost is None else round(self.est_cost, 6),
        }
        if self.cooling:
            out["cooldown_s"] = round(self.cooling, 1)
        if self.probe:
            out["probe"] = True
        if self.trial:
            out["trial"] = True
        if self.failures:
            out["failures"] = self.failures
        return out


@dataclass
class Plan:
    candidates: list[Candidate]  # to try, in order
    dropped: list[Candidate]
    strategy: str
    tokens_bound: int
    tokens: int | None = None  # tiktoken estimate, when one was needed
    max_tokens: int | None = None
    error: RfctlError | None = None  # nothing can be tried
    spent_today: float | None = None
    budget_extra: float = 0.0  # today's spend the log knows beyond the state's counter
    # Shared with the walk: one registry load and one tokenization per call.
    reg: LazyRegistry | None = None
    toks: PromptTokens | None = None
    state: object | None = None  # the rfctl.state backend (file or Redis)

    def drop(self, c: Candidate, why: str) -> None:
        c.kept, c.why = False, why
        self.dropped.append(c)
