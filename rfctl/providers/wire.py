"""Reading what servers send: token counts, and the failures a 2xx body can carry.

Shared by the HTTP adapters; needs nothing heavier than base.py.
"""

from __future__ import annotations

from rfctl.providers.base import ProviderError, classify_http
from rfctl.providers.text import server_text


def as_int(value) -> int | None:
    """A token count from JSON: ints (and whole floats) only; bools and junk are None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def in_stream_error(
    message: str, etype: str | None, status_hint: int | None = None, code: str | None = None
) -> ProviderError:
    """An error the server reported inside a 200 stream (or a 200 body).

    Classified as if it had come with `status_hint` (500 when the server gave
    none) so that context overflow, overload and rate limits keep their kind
    and transience; anything else is kind "stream". No status: the HTTP
    status was 200.
    """
    message = server_text(message or "")
    status = status_hint if isinstance(status_hint, int) and 400 <= status_hint <= 599 else 500
    c = classify_http(status, message or "error event in stream", etype, code)
    kind = "stream" if c.kind == "http" else c.kind
    return ProviderError(
        kind,
        message or "error event in stream",
        transient=c.transient,
        provider_type=etype or code,
        accepted=True,
    )


def bad_response(message: str, status: int) -> ProviderError:
    """A 2xx body that is not what the protocol promises. Transient (another
    server, or the next try, may answer properly); the server took the request."""
    return ProviderError("bad_response", message, transient=True, status=status, accepted=True)


def no_model(name: str, detail: str = " and the server lists none") -> ProviderError:
    """No model named for provider `name` and none to be found; `detail` says why."""
    return ProviderError(
        "not_found", f"no model configured for provider {name!r}{detail}", transient=False
    )


def malformed(data: str) -> ProviderError:
    """A stream record that is not the JSON the protocol promises."""
    snippet = data if len(data) <= 80 else data[:77] + "..."
    return ProviderError(
        "stream", f"malformed chunk in stream: {snippet!r}", transient=True, accepted=True
    )


def cut(what: str) -> ProviderError:
    """The body ended before the protocol's terminator: the answer may be incomplete."""
    return ProviderError(
        "stream", f"stream ended before {what} (connection cut?)", transient=True, accepted=True
    )


def too_large(what: str, limit: int) -> ProviderError:
    """A line, event or body past rfctl's size limit: refused rather than held in memory.

    Not transient: the same server asked again sends the same oversized answer.
    """
    return ProviderError(
        "bad_response",
        f"{what} exceeds {limit / (1 << 20):g} MiB, rfctl's limit",
        transient=False,
        accepted=True,
    )


def refused(message: str, text: str) -> ProviderError:
    """The model or the provider's filter refused: an error, never a quiet answer.

    A pipeline must not take a refusal (or a filtered, truncated answer) for
    the answer, so it fails the attempt with the provider's reason; not
    transient (asking again gives the same); the router ends the call with the
    reason rather than shopping the prompt around other providers.
    """
    return ProviderError(
        "refusal",
        message,
        transient=False,
        provider_type="refusal",
        partial_text=text,
        accepted=True,
    )
