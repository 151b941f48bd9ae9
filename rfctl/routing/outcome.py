"""What one call came to (Outcome), and generate's machine-output record of
it, shared by `generate --format json` and every `--jsonl` result line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rfctl.errors import RfctlError
from rfctl.ledger import Attempt

if TYPE_CHECKING:
    from rfctl.config import ProviderConfig
    from rfctl.providers.base import Result


def new_request_id() -> str:
    return os.urandom(8).hex()


@dataclass
class Outcome:
    request_id: str
    result: Result | None = None
    provider: ProviderConfig | None = None
    attempts: list[Attempt] = field(default_factory=list)
    error: RfctlError | None = None
    cost_usd: float | None = None
    cached: bool = False  # answered from the response cache: nothing was sent
    # A live answer cut and carried on by another provider (rfctl.routing.continuation):
    # {"provider": who continued, "after": who was cut, "at": characters written by then}.
    continued: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result is not None


def result_record(outcome: Outcome, id=None, metadata=None) -> dict:
    """One JSON object: the answer with its usage, cost and timings, or the
    error with its exit code; the attempts and request id either way; a batch
    line's id and metadata echoed back."""
    rec: dict = {}
    if id is not None:
        rec["id"] = id
    rec["ok"] = outcome.ok
    if outcome.ok:
        r = outcome.result
        rec["text"] = r.text
        rec["provider"] = outcome.provider.name
        rec["model"] = r.model
        rec["finish_reason"] = r.finish_reason
        u = r.usage
        usage = {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}
        if u.cached_input_tokens is not None:
            usage["cached_input_tokens"] = u.cached_input_tokens
        if u.reasoning_tokens is not None:
            usage["reasoning_tokens"] = u.reasoning_tokens
        usage["source"] = u.source
        rec["usage"] = usage
        rec["cost_usd"] = outcome.cost_usd
        rec["latency_ms"] = round(r.latency_ms, 1)
        rec["ttft_ms"] = None if r.ttft_ms is None else round(r.ttft_ms, 1)
    else:
        rec["error"] = {"code": int(outcome.error.code), "message": outcome.error.message}
    if outcome.cached:
        rec["cached"] = True
    if outcome.continued:
        rec["continued"] = [dict(c) for c in outcome.continued]
    rec["attempts"] = [a.as_json() for a in outcome.attempts]
    rec["request_id"] = outcome.request_id
    if metadata is not None:
        rec["metadata"] = metadata
    return rec
