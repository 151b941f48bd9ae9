"""How a call that got no answer ends: a pure decision from its failures to
one exit code and one line.

- 65 when every failure was a context overflow (and the deadline cut nothing);
- 75 when every failure was transient (timeouts, 429, 5xx, connection
  resets, the deadline): trying again later may work;
- 69 otherwise. A refused connection counts as not transient here, even
  though the walk treats it as a reason to move on: nothing listens there,
  so "retry later" is no advice.
"""

from __future__ import annotations

from rfctl.errors import Exit, RfctlError
from rfctl.providers.base import ProviderError
from rfctl.routing.retry import is_refused


def exhausted(
    errors: list[tuple[str, ProviderError]], skipped: list[str], deadline_s: float
) -> RfctlError:
    """errors: (provider, failure) in the order tried; skipped: providers
    the deadline left untried."""
    errs = [e for _, e in errors]
    if errs and all(e.kind == "context" for e in errs) and not skipped:
        code = Exit.DATAERR
    elif all(e.transient and not is_refused(e) for e in errs):
        code = Exit.TEMPFAIL
    else:
        code = Exit.UNAVAILABLE
    # One line: the last failure of each provider, in the order tried.
    last: dict[str, ProviderError] = {}
    for name, e in errors:
        last[name] = e
    parts = [f"{name}: {e.short()}" for name, e in last.items()]
    if skipped:
        parts.append(f"deadline of {deadline_s:g} s reached before trying {', '.join(skipped)}")
    if not parts:
        parts.append(f"deadline of {deadline_s:g} s reached")
    if len(last) > 1 or skipped:
        return RfctlError("no provider could answer: " + "; ".join(parts), code)
    return RfctlError(parts[0], code)


def refused(provider: str, e: ProviderError) -> RfctlError:
    """A content-policy refusal ends the call: rfctl does not shop a refused
    prompt around other providers."""
    return RfctlError(f"{provider} refused: {e.message}", Exit.UNAVAILABLE)


def cut(provider: str, e: ProviderError, chars: int) -> RfctlError:
    """A failure after live text was written: never a second answer."""
    code = Exit.TEMPFAIL if e.transient else Exit.UNAVAILABLE
    return RfctlError(f"answer cut after {chars} characters from {provider}: {e.short()}", code)
