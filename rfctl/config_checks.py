"""The checks of a config file's values: types, ranges, URLs, where a cloud
key may travel. Pure functions over what was read (they raise ConfigError
naming the file and the key); rfctl.config calls them while it reads."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from rfctl.errors import ConfigError


def _check(where: str, table: dict, schema: dict, path: Path) -> None:
    for key, value in table.items():
        if key not in schema:
            raise ConfigError(f"{path}: unknown key {where}{key!r}")
        want = schema[key]
        # bool is an int in Python; a number field must not take true/false.
        if (
            isinstance(value, bool)
            and want is not bool
            and bool not in (want if isinstance(want, tuple) else (want,))
        ):
            raise ConfigError(f"{path}: {where}{key} must be {_type_name(want)}, not a boolean")
        if not isinstance(value, want):
            raise ConfigError(f"{path}: {where}{key} must be {_type_name(want)}")


# Numeric keys and the least value each may take (None: no lower bound beyond
# being a finite number); "positive" values must be strictly greater than 0.
_POSITIVE = {
    "idle_timeout",
    "timeout",
    "deadline",
    "connect_timeout",
    "first_byte_timeout",
    "stall_timeout",
    "max_retry_after",
    "max_backoff",
    "rpm",
    "tpm",
}
_AT_LEAST = {
    "retries": 0,
    "max_tokens": 1,
    "cooldown": 0,
    "backoff": 0,
    "daily_usd": 0,
    "cooldown_base": 0,
    "ttl": 0,
    "max_bytes": 0,
}


def _check_ranges(where: str, table: dict, path: Path) -> None:
    import math

    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            raise ConfigError(f"{path}: {where}{key} must be a finite number")
        if key in _POSITIVE and value <= 0:
            raise ConfigError(f"{path}: {where}{key} must be greater than 0, not {value}")
        if key in _AT_LEAST and value < _AT_LEAST[key]:
            raise ConfigError(f"{path}: {where}{key} must be at least {_AT_LEAST[key]}")


def _key(name: str) -> str:
    """A table key as TOML writes it: bare when it can be, else quoted (one line)."""
    import json
    import re

    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _check_url(url: str, where: str, path: Path) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as e:
        raise ConfigError(f"{path}: {where}base_url is not a valid URL: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{path}: {where}base_url must be an http(s) URL with a host")


# Kinds whose key is a paid cloud account's: it travels only where it is safe.
CLOUD_KINDS = frozenset({"anthropic", "openai"})


def _loopback(host: str) -> bool:
    import ipaddress

    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_key_transport(p, where: str, path: Path) -> None:
    """A cloud key goes over HTTPS or to this machine only, unless allow_insecure.

    Checked when the file is read, so every command refuses it (--dry-run
    included) before any request could carry the key in clear text."""
    if p.kind not in CLOUD_KINDS or p.allow_insecure:
        return
    parts = urlparse(p.base_url)
    if parts.scheme == "https" or _loopback(parts.hostname or ""):
        return
    raise ConfigError(
        f"{path}: provider {p.name!r} ({p.kind}) would send its API key in clear text "
        f"to {parts.hostname}: {where}base_url must be https:// or a loopback address "
        f"(or set {where}allow_insecure = true)"
    )


def _type_name(want) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "an array",
        dict: "a table",
    }
    if isinstance(want, tuple):
        return "a number"
    return names.get(want, want.__name__)


def _position(text: str, err) -> str:
    # tomllib puts "(at line L, column C)" in its message; keep that wording
    # but make sure line and column are always there.
    msg = str(err)
    if "line" in msg:
        return msg
    return f"{msg} (at line ?, column ?)"
