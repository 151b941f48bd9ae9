"""The [state] config table: where the router state lives.

    [state]
    url = "redis://state.internal:6379/0"   # or rediss:// (TLS); absent: the local file
    password_env = "REDIS_PASSWORD"   # the variable holding the password
    prefix = "rfctl:"                       # every key starts with it
    timeout = 0.05                          # seconds, each Redis call

rfctl/config.py calls parse_state_section() with the raw table; this module
only validates and never connects.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from rfctl.errors import ConfigError

DEFAULT_TIMEOUT = 0.05
_KEYS = ("url", "password_env", "prefix", "timeout")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class StateConfig:
    url: str | None = None  # None: the local state file
    password_env: str | None = None
    prefix: str = "rfctl:"
    timeout: float = DEFAULT_TIMEOUT

    def __repr__(self) -> str:  # the URL may carry a password
        from rfctl.redact import display_url

        url = display_url(self.url) if self.url else None
        return (
            f"StateConfig(url={url!r}, password_env={self.password_env!r}, "
            f"prefix={self.prefix!r}, timeout={self.timeout!r})"
        )

    def password(self) -> str | None:
        """The password from the named variable (registered as a secret)."""
        if not self.password_env:
            return None
        value = os.environ.get(self.password_env)
        if not value:
            raise ConfigError(f"[state] password_env names {self.password_env}, which is not set")
        from rfctl.redact import register_secret

        register_secret(value)
        return value


def parse_state_section(raw: object, where: str = "[state]") -> StateConfig:
    """A validated StateConfig from the [state] table (None or {}: the file)."""
    if raw is None:
        return StateConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
    url = raw.get("url")
    if url is not None:
        url = _url(url, where)
    password_env = raw.get("password_env")
    if password_env is not None and not (
        isinstance(password_env, str) and _ENV_NAME.match(password_env)
    ):
        raise ConfigError(f"{where}: password_env must be an environment variable name")
    prefix = raw.get("prefix", "rfctl:")
    if not isinstance(prefix, str) or not prefix or len(prefix) > 100:
        raise ConfigError(f"{where}: prefix must be a non-empty string")
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ConfigError(f"{where}: timeout must be a number of seconds")
    if not 0 < timeout <= 10:
        raise ConfigError(f"{where}: timeout must be more than 0 and at most 10 seconds")
    return StateConfig(url, password_env, prefix, float(timeout))


def _url(url: object, where: str) -> str:
    from urllib.parse import urlsplit

    from rfctl.redact import display_url, register_secret

    if not isinstance(url, str) or not url:
        raise ConfigError(f"{where}: url must be a redis:// or rediss:// URL")
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port out of range raises ValueError
    except ValueError:
        raise ConfigError(f"{where}: url {display_url(url)} is not a valid URL") from None
    register_secret(parts.password)  # a password in the URL is still a secret
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(
            f"{where}: url {display_url(url)} must be redis://HOST[:PORT][/DB] or rediss://..."
        )
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ConfigError(f"{where}: url {display_url(url)}: the database must be a number")
    return url
