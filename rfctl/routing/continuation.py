"""Live answers that survive a cut: the next candidate that can continue an
answer is asked to carry on from the text already written.

With live output (a terminal, or --stream) a stream cut, stalled or
malformed mid-answer cannot be answered again from the start: that would
glue a second answer onto the first. It can be *continued*: the text
written so far goes to the next capable candidate as a trailing assistant
turn (a prefill), and its continuation is streamed on, so the terminal
shows one answer. Buffered output (pipes, files, --format json) never needs
this: there a cut falls over to the next candidate, which answers whole.

Which candidates can continue (`continues`, a pure decision by kind and model):

- llama-server (llamacpp): continues a trailing assistant turn by default
  (its --prefill-assistant); a thinking template rejects it with a 400;
- vLLM: when asked (continue_final_message, no new generation prompt);
- Ollama /api/chat: continues a trailing assistant turn (template-dependent);
- Anthropic: a trailing assistant turn is a prefill, except on Claude 4.6 and
  later, which reject it (400), and with extended thinking on any model;
  other model names (a local server's /v1/messages) are tried;
- OpenAI's own API has no prefill, and other OpenAI-compatible servers
  (LM Studio, LocalAI, a generic one) are not known to continue rather than
  start over: they are not asked.

A candidate that rejects the prefill (a 4xx naming it, `rejects_prefill`) is
skipped for the continuation, with no cooldown: that is neither the user's
error nor the server failing. Any other failure is an ordinary one (retries,
cooldowns as for any candidate); a continuation that writes more text and is
cut again is continued in turn from the longer text. Where no candidate can
continue, the call ends as before: "answer cut after N characters".

The text is sent without its trailing whitespace (Anthropic rejects a prefill
that ends in whitespace; models write the space before a word themselves);
the continuation's first characters that repeat that whitespace are dropped.
A server that echoes the prefill before its continuation (it starts with the
whole of it) has the echo dropped too: the user sees each character once.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from rfctl import settings
from rfctl.providers.base import ProviderError
from rfctl.routing import clock, verdict

if TYPE_CHECKING:
    from rfctl.routing.attempt import Live
    from rfctl.routing.candidates import Candidate

# ---------------------------------------------------------------- who can continue

_NEVER = {
    "openai": "OpenAI's API does not continue a prefilled answer",
    "openai-compatible": "not known to continue a prefilled answer rather than start over",
    "lmstudio": "not known to continue a prefilled answer rather than start over",
    "localai": "not known to continue a prefilled answer rather than start over",
    "stub": "the stub does not continue answers",
}
_CONTINUING = frozenset({"llamacpp", "vllm", "ollama", "anthropic"})
# Claude models from this version on reject a trailing assistant turn.
NO_PREFILL_CLAUDE = (4, 6)


def continues(kind: str, model: str | None, *, thinking: bool = False) -> str | None:
    """None when a candidate of this kind serving this model can continue an
    answer from a prefill; otherwise why it cannot (for -v). thinking: the
    request asks for reasoning."""
    if kind in _NEVER:
        return _NEVER[kind]
    if kind not in _CONTINUING:
        return f"kind {kind} does not continue answers"
    if kind == "anthropic":
        if thinking:
            return "Anthropic rejects a prefilled answer with extended thinking"
        version = claude_version(model or "")
        if version is not None and version >= NO_PREFILL_CLAUDE:
            return "Claude 4.6 and later reject a prefilled answer"
    return None


def claude_version(model: str) -> tuple[int, int] | None:
    """(major, minor) of a Claude model id, any spelling: claude-3-5-sonnet,
    claude-opus-4-6, claude-sonnet-4-5-20250929, anthropic.claude-opus-4-1-v1:0,
    claude-sonnet-4-5@20250929, claude-opus-4.6; None for other names."""
    low = model.lower()
    at = low.find("claude")
    if at < 0:
        return None
    rest = re.sub(r"\[[^\]]*\]", "", low[at + len("claude") :]).split("@")[0]
    nums: list[int] = []
    for tok in re.split(r"[-_.:/]", rest):
        if tok.isdigit() and len(tok) <= 2:  # a date (20250929) is not a version
            nums.append(int(tok))
            if len(nums) == 2:
                break
        elif nums:
            break
    if not nums:
        return None
    return nums[0], nums[1] if len(nums) > 1 else 0


# What servers say when they refuse a trailing assistant turn: Anthropic's
# "does not support assistant message prefill ... must end with a user
# message", llama-server's "Assistant response prefill is incompatible with
# enable_thinking" and "Cannot have 2 or more assistant messages at the end",
# "final assistant content cannot end with trailing whitespace", vLLM's
# continue_final_message checks.
_PREFILL_HINTS = (
    "prefill",
    "assistant message",
    "assistant response",
    "final assistant",
    "continue_final_message",
    "final message",
    "end with a user",
)
# Failures that say something else, whatever words their message uses.
_NOT_PREFILL = frozenset({"auth", "not_found", "rate_limit", "quota", "refusal", "context"})


def rejects_prefill(e: ProviderError) -> bool:
    """Is this failure the server refusing to continue a prefilled answer?"""
    if e.status is None or not 400 <= e.status < 500 or e.kind in _NOT_PREFILL:
        return False
    text = f"{e.message} {e.body or ''}".lower()
    return any(h in text for h in _PREFILL_HINTS)


def split_prefill(written: str) -> tuple[str, str]:
    """(the prefill to send, the trailing whitespace held back from it)."""
    sent = written.rstrip()
    return sent, written[len(sent) :]


# ---------------------------------------------------------------- the relay


class Relay:
    """The live relay of one continuation attempt, in front of the call's Live:
    drops an echo of the prefill and the whitespace already written, passes
    the rest on. Quacks like Live (chars, output_error) for rfctl.routing.attempt."""

    def __init__(self, live: Live, sent: str, gap: str):
        self.live, self.sent, self.gap = live, sent, gap
        self.held = ""  # what may yet turn out to be an echo of `sent`
        self.deciding = bool(sent)
        self.echoed = False
        self.matched = 0  # characters of `gap` the continuation repeated (dropped)
        self.gap_done = not gap

    @property
    def chars(self) -> int:
        return self.live.chars

    @property
    def output_error(self):
        return self.live.output_error

    def __call__(self, piece: str) -> None:
        if self.deciding:
            self.held += piece
            if self.held.startswith(self.sent):
                self.echoed, self.deciding = True, False
                piece, self.held = self.held[len(self.sent) :], ""
            elif self.sent.startswith(self.held):
                return  # may yet be an echo: hold it
            else:
                self.deciding = False
                piece, self.held = self.held, ""
        if not self.gap_done:
            n = 0
            while (
                n < len(piece)
                and self.matched < len(self.gap)
                and piece[n] == self.gap[self.matched]
            ):
                n, self.matched = n + 1, self.matched + 1
            if n < len(piece) or self.matched == len(self.gap):
                self.gap_done = True
            piece = piece[n:]
        if piece:
            self.live(piece)

    def finish(self) -> None:
        """The continuation is complete: text held as a possible echo was not one."""
        if self.held:
            held, self.held, self.deciding = self.held, "", False
            self(held)


# ---------------------------------------------------------------- the walk's hook


def resume(walk, cut_by: Candidate, cut, rest: list[Candidate]) -> None:
    """The walk's live answer from `cut_by` was cut (`cut`: the walk's cut, with
    .error and .chars): continue it on the first of `rest` that can, else end
    the call with the cut's error. Fills in walk.outcome either way."""
    from rfctl import state

    # Reasoning options, where the request carries them (--thinking, --reasoning-effort).
    thinks = bool(
        getattr(walk.req, "thinking", None) or getattr(walk.req, "reasoning_effort", None)
    )
    whys = [
        (c, continues(c.provider.kind, c.model or c.provider.model, thinking=thinks)) for c in rest
    ]
    able = [c for c, why in whys if why is None]
    _trace_cut(walk, able)
    for c, why in whys:
        if why is not None:
            walk.say(f"skip {c.name} for the continuation: {why}")
    last_name, last = cut_by.name, cut
    for n, c in enumerate(able):
        if clock.monotonic() >= walk.deadline:
            walk.say(f"deadline reached: no continuation on {c.name}")
            break
        live = walk.live
        at = live.chars
        sent, gap = split_prefill(live.text)
        relay = Relay(live, sent, gap)
        pol = settings.retry_policy(walk.cfg, walk.opts, c.provider, probe=c.probe)
        before = len(walk.outcome.attempts)
        walk.live = relay
        try:
            result = walk.candidate(c, pol, prefill=sent)
            relay.finish()
        except type(cut) as again:  # it wrote more, then failed too: go on from there
            walk.errors.append((c.name, again.error))
            walk.outcome.continued.append({"provider": c.name, "after": last_name, "at": at})
            _trace_cut(walk, able[n + 1 :])
            last_name, last = c.name, again
            continue
        except ProviderError as e:
            walk.errors.append((c.name, e))
            if e.kind == "refusal":
                walk._trace(walk.outcome.attempts[-1], "refused: stop")
                walk.outcome.error = verdict.refused(c.name, e)
                return
            if rejects_prefill(e):
                step = "rejects the prefill: skip"
            else:
                step = walk._cool(c, e, walk.outcome.attempts[before:], pol)
            walk._trace(walk.outcome.attempts[-1], step)
            continue
        finally:
            walk.live = live
        walk._trace(walk.outcome.attempts[-1], f"continued from {at} characters")
        walk.outcome.continued.append({"provider": c.name, "after": last_name, "at": at})
        # The answer is everything written, from the first provider on.
        walk.outcome.result = replace(result, text=live.text)
        walk.outcome.provider = c.provider
        state.clear_cooldown(walk.paths.state, c.name)
        return
    walk.outcome.error = verdict.cut(last_name, last.error, last.chars)


def _trace_cut(walk, able: list[Candidate]) -> None:
    then = f"answer cut: continue on {able[0].name}" if able else "answer cut: stop"
    walk._trace(walk.outcome.attempts[-1], then)
