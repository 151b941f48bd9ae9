"""One answer as it comes in, whatever the protocol: the one accumulator.

The adapters read their own protocol's events and hand this what they mean:
each piece of text (timed for ttft, kept, relayed to on_text), the model and
id the server reported, the finish reason, the usage. It turns that into the
Result, or marks a failure with the text already received.

Every piece it relays and the text it keeps are valid Unicode: a stream may
cut a UTF-16 surrogate pair between two chunks ("\\ud83d" then "\\ude00",
each valid JSON), so a high surrogate that ends a piece is held back until
the next piece completes it; a lone surrogate becomes U+FFFD, with a warning.
Otherwise printing the answer would fail after the call was paid for.

Reasoning text (thinking blocks, reasoning fields) is a channel of its own
(think): kept apart from the answer, never part of Result.text, relayed to
on_reasoning when the user asked to see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rfctl.providers.base import OnText, ProviderError, Result, Usage, normalise_finish
from rfctl.providers.text import is_high_surrogate, valid_unicode

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
    held: str = ""  # a high surrogate that ended the last piece, awaiting its pair
    thoughts: list[str] = field(default_factory=list)  # reasoning text, apart from the answer
    on_reasoning: OnText | None = None  # told each piece of reasoning as it arrives

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, piece: str) -> None:
        """A piece of streamed text: the first one sets ttft; each is relayed."""
        if not piece:
            return
        if self.ttft_ms is None:
            self.ttft_ms = self.clock.elapsed_ms()
        if self.held:
            piece, self.held = self.held + piece, ""
        if is_high_surrogate(piece[-1]):
            piece, self.held = piece[:-1], piece[-1]
        self._keep(piece)

    def whole(self, text: str) -> None:
        """The text of a non-streamed answer, all at once. Relayed in one piece
        when on_text is set: a server that answered a stream request with JSON."""
        self.parts, self.held = [], ""
        if text and self.on_text is not None and self.ttft_ms is None:
            self.ttft_ms = self.clock.elapsed_ms()
        self._keep(text)

    def _keep(self, piece: str) -> None:
        piece = _valid(piece)
        if not piece:
            return
        self.parts.append(piece)
        if self.on_text is not None:
            self.on_text(piece)

    def _flush(self) -> None:
        """The stream is over: a held high surrogate never got its pair."""
        if self.held:
            self.held = ""
            self._keep("\ud800")  # lone: becomes U+FFFD, with the warning

    def think(self, piece: str) -> None:
        """A piece of reasoning text: kept, relayed, never added to the answer."""
        if not piece:
            return
        self.thoughts.append(piece)
        if self.on_reasoning is not None:
            self.on_reasoning(piece)

    def failed(self, e: ProviderError) -> None:
        """A stream broke after the server accepted the call: keep what came."""
        self._flush()
        e.partial_text = self.text
        e.accepted = True
        e.usage = self.usage  # usage reported before the failure is still billed

    def result(self, model: str, status: int, *, stream: bool) -> Result:
        """The Result; `model` is what was asked for, used when the server named none."""
        self._flush()
        return Result(
            text=self.text,
            finish_reason=normalise_finish(self.finish),
            model=_valid(self.model) or model,
            usage=self.usage,
            latency_ms=self.clock.elapsed_ms(),
            ttft_ms=self.ttft_ms,
            stream=stream,
            http_status=status,
            response_id=_valid(self.response_id),
            reasoning=_valid("".join(self.thoughts)) or None,
        )


def _valid(text):
    """`text` as valid Unicode; a lone surrogate becomes U+FFFD and is reported once."""
    if not isinstance(text, str):
        return text
    text, lone = valid_unicode(text)
    if lone:
        from rfctl import console

        console.warn_once(
            "the server sent a lone UTF-16 surrogate (a broken character); replaced with U+FFFD"
        )
    return text
