"""One answer as it comes in, whatever the protocol: the one accumulator.

The adapters read their own protocol's events and hand this what they mean:
each piece of text (timed for ttft, kept, relayed to on_text), the model and
id the server reported, the finish reason, the usage. It turns that into the
Result, or marks a failure with the text already received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rfctl.providers.base import OnText, ProviderError, Result, Usage, normalise_finish

if TYPE_CHECKING:
    from rfctl.providers.clock import Clock


@dataclass
class Answer:
    clock: Clock
    on_text: OnText | None = None  # streamed calls: told each piece as it arrives
    parts: list[str] = field(default_factory=list)
    ttft_ms: float | None = None
    model: str | None = None  # as the server reported it
    response_id: str | None = None
    finish: str | None = None  # the protocol's own word; normalised in result()
    usage: Usage = field(default_factory=Usage)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, piece: str) -> None:
        """A piece of streamed text: the first one sets ttft; each is relayed."""
        if not piece:
            return
        if self.ttft_ms is None:
            self.ttft_ms = self.clock.elapsed_ms()
        self.parts.append(piece)
        if self.on_text is not None:
            self.on_text(piece)

    def whole(self, text: str) -> None:
        """The text of a non-streamed answer, all at once (nothing is relayed)."""
        self.parts = [text] if text else []

    def failed(self, e: ProviderError) -> None:
        """A stream broke after the server accepted the call: keep what came."""
        e.partial_text = self.text
        e.accepted = True
        e.usage = self.usage  # usage reported before the failure is still billed

    def result(self, model: str, status: int, *, stream: bool) -> Result:
        """The Result; `model` is what was asked for, used when the server named none."""
        return Result(
            text=self.text,
            finish_reason=normalise_finish(self.finish),
            model=self.model or model,
            usage=self.usage,
            latency_ms=self.clock.elapsed_ms(),
            ttft_ms=self.ttft_ms,
            stream=stream,
            http_status=status,
            response_id=self.response_id,
        )
