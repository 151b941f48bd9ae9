"""Provider adapters, one per wire protocol; make_adapter picks one by kind.

Adapter modules are imported only when asked for: `rfctl generate -p stub`
must not pay for requests, and a call to Ollama need not load the Anthropic
code. Every adapter offers generate(req, timeouts, on_text), health(timeout)
and list_models(timeout); see rfctl/providers/base.py for the types.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rfctl.providers.base import ProviderError, Timeouts, classify_http

if TYPE_CHECKING:
    import requests

    from rfctl.config import ProviderConfig

# Every kind that speaks OpenAI Chat Completions (rfctl/providers/openai.py).
OPENAI_KINDS = frozenset({"openai", "openai-compatible", "vllm", "lmstudio", "localai", "llamacpp"})


def make_adapter(provider: ProviderConfig, session: requests.Session | None = None):
    """The adapter for provider.kind, sharing `session` when one is given."""
    kind = provider.kind
    if kind == "stub":
        from rfctl.providers.stub import StubAdapter

        return StubAdapter(provider)
    if kind in OPENAI_KINDS:
        from rfctl.providers.openai import OpenAIAdapter

        return OpenAIAdapter(provider, session)
    if kind == "anthropic":
        from rfctl.providers.anthropic import AnthropicAdapter

        return AnthropicAdapter(provider, session)
    if kind == "ollama":
        from rfctl.providers.ollama import OllamaAdapter

        return OllamaAdapter(provider, session)
    from rfctl.errors import ConfigError

    raise ConfigError(f"provider {provider.name!r}: unknown kind {kind!r}")


# ---------------------------------------------------------------- shared by the HTTP adapters
# Small helpers the anthropic, openai and ollama modules all need. They live
# here (the package is imported anyway) and need nothing heavier than base.py.


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


def fetch_json(adapter, method: str, path: str, clock, payload: dict | None = None):
    """A small JSON document (model lists, health, show), bounded by `clock`.

    None for an empty body; ProviderError("bad_response") for a body that is not JSON.
    """
    resp = adapter.open(method, path, clock, payload, headers=adapter.headers())
    raw = b"".join(adapter.iter_bytes(resp, clock))
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        snippet = raw[:120].decode("utf-8", "replace")
        raise ProviderError(
            "bad_response",
            f"{path}: response is not JSON: {snippet!r}",
            transient=True,
            status=resp.status_code,
            accepted=True,
        ) from None


def ms_since(t0: float) -> float:
    """Milliseconds since the time.monotonic() value t0."""
    import time

    return (time.monotonic() - t0) * 1000.0


def time_left(end: float) -> float:
    """Seconds until the time.monotonic() value `end`, never quite zero."""
    import time

    return max(0.001, end - time.monotonic())


def short_clock(timeout: float):
    """A Clock for one small request (health, listing): every bound is `timeout`."""
    from rfctl.providers.http import Clock  # imports requests: not on the stub's path

    return Clock(Timeouts(connect=timeout, first_byte=timeout, stall=timeout, attempt=timeout))
