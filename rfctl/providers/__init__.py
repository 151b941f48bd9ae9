"""Provider adapters, one per wire protocol; make_adapter picks one by kind.

Adapter modules are imported only when asked for: `rfctl generate -p stub`
must not pay for requests, and a call to Ollama need not load the Anthropic
code. Every adapter offers generate(req, timeouts, on_text), health(timeout)
and list_models(timeout); see rfctl/providers/base.py for the types.

This module holds only the choice of adapter: the adapters import nothing
from it, so there is no import circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
