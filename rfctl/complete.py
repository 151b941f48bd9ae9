"""Is the answer whole? An empty answer, or one the provider cut at
max_tokens (finish_reason "length"), is still an answer: it exits 0 with a
warning on stderr (for a cut, only when the limit came from the config: a
cut asked for with --max-tokens is no news). With --require-complete it is a
failure instead: exit 65,
nothing on stdout, no -o file (the text is held back until it is known to be
whole, so live streaming is off). The usage log records the attempt as the
provider answered it either way (status ok, its finish_reason).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rfctl.errors import Exit, RfctlError

if TYPE_CHECKING:
    from rfctl.providers.base import Result
    from rfctl.routing.outcome import Outcome


def problem(result: Result) -> str | None:
    """Why this answer is not whole, or None: a pure decision."""
    if not result.text.strip():
        return "the answer is empty"
    if result.finish_reason == "length":
        return "the answer was cut off at max_tokens (finish_reason length)"
    return None


def check(
    outcome: Outcome, required: bool, *, warn: bool = True, asked_limit: bool = False
) -> None:
    """Warn about an answer that is not whole, or (required) turn the outcome
    into a failure with exit 65, keeping its attempts. asked_limit: the user
    gave --max-tokens, so a cut there needs no warning."""
    if not outcome.ok:
        return
    why = problem(outcome.result)
    if why is None:
        return
    name = outcome.provider.name if outcome.provider is not None else "the provider"
    # A provider's own max_tokens ceiling (the built-in `local` model's, say)
    # is a limit its configuration asked for, like --max-tokens.
    asked_limit = asked_limit or getattr(outcome.provider, "max_tokens", None) is not None
    if required:
        outcome.result = None
        outcome.error = RfctlError(f"{name}: {why} (--require-complete)", Exit.DATAERR)
    elif warn and not (asked_limit and outcome.result.text.strip()):
        from rfctl import console

        console.warn(f"{name}: {why}")
