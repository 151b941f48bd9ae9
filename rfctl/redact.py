"""Secrets never leave in text: a registry of known keys, redact(), display_url().

The bottom layer: every module that writes a message, a log line or a URL a
person reads passes it through here. Keys are registered by the adapters
(and the config loader) as soon as they are read, so a key echoed back by a
server, in an error body or a URL, is caught whatever its shape; the patterns
catch keys rfctl was never told about.
"""

from __future__ import annotations

import re

_SECRET_PATTERNS = [
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),  # OpenAI / Anthropic style keys
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)((?:api[_-]?key|x-api-key|token)[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-]{8,}"),
]
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a key so that redact() removes it wherever it turns up."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def redact(text: str) -> str:
    if not text:
        return text
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    for pat in _SECRET_PATTERNS:
        text = pat.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


def display_url(url: str) -> str:
    """The URL without credentials (user:password@, or a key in the query), for
    messages and listings."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return redact(url)
    if parts.username is not None or parts.password is not None:
        host = parts.hostname or ""
        parts = parts._replace(netloc=f"{host}:{port}" if port else host)
    return redact(urlunsplit(parts))
