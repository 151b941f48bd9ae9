"""Secrets never leave in text: a registry of known keys, redact(), display_url().

The bottom layer: every module that writes a message, a log line or a URL a
person reads passes it through here. Keys are registered by the adapters
(and the config loader) as soon as they are read, so a key echoed back by a
server, in an error body or a URL, is caught whatever its shape; the patterns
catch keys rfctl was never told about. A server may echo a key cut short or
without its prefix ("sk-"): any run of WINDOW or more characters of a
registered key is removed too.
"""

from __future__ import annotations

import re

_SECRET_PATTERNS = [
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),  # OpenAI / Anthropic style keys
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)((?:api[_-]?key|x-api-key|token)[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-]{8,}"),
]
_known_secrets: set[str] = set()
WINDOW = 12  # a substring this long of a registered key is taken for the key
_windows: set[str] = set()  # every WINDOW-character substring of each registered key
_HALF = WINDOW // 2
_halves: set[str] = set()  # every _HALF-character substring: a cheap first look
_runs: re.Pattern | None = None  # runs of key characters long enough to hold a window
_SECRET_WORDS = ("auth", "key", "token", "secret", "cookie", "password", "session")


def secret_header(name: str) -> bool:
    """A header whose value is a credential (Authorization, X-Api-Key, X-Auth-Token...)."""
    low = name.lower()
    return any(w in low for w in _SECRET_WORDS)


def register_secret(value: str | None) -> None:
    """Remember a key so that redact() removes it wherever it turns up."""
    global _runs
    if not value or len(value) < 4 or value in _known_secrets:
        return
    _known_secrets.add(value)
    if len(value) >= WINDOW:
        _windows.update(value[i : i + WINDOW] for i in range(len(value) - WINDOW + 1))
        _halves.update(value[i : i + _HALF] for i in range(len(value) - _HALF + 1))
        chars = "".join(sorted({c for s in _known_secrets if len(s) >= WINDOW for c in s}))
        _runs = re.compile(f"[{re.escape(chars)}]{{{WINDOW},}}")


def redact(text: str) -> str:
    if not text:
        return text
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    if _runs is not None:
        text = _runs.sub(_without_key_parts, text)
    for pat in _SECRET_PATTERNS:
        text = pat.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


def _without_key_parts(m: re.Match) -> str:
    """A run of key characters, with every stretch shared with a key replaced.

    A shared stretch of WINDOW characters holds a _HALF-character piece that
    starts at a multiple of _HALF, so a look at those pieces first clears most
    runs in a sixth of the lookups. Then linear: one set lookup per position;
    overlapping windows merge into the one stretch they cover."""
    run = m.group()
    if not any(run[i : i + _HALF] in _halves for i in range(0, len(run) - _HALF + 1, _HALF)):
        return run
    out: list[str] = []
    kept = 0  # run[:kept] is already in out
    covered = -1  # end of the stretch being redacted
    for i in range(len(run) - WINDOW + 1):
        if run[i : i + WINDOW] in _windows:
            if i > covered:
                out.append(run[kept:i])
                out.append("[redacted]")
            covered = i + WINDOW
            kept = covered
    if not out:
        return run
    out.append(run[kept:])
    return "".join(out)


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
