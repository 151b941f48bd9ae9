"""The TOML config: where files live, what is configured, zero-config defaults.

Reading uses tomllib (stdlib, fast); writing (`rfctl config init`) uses tomli-w,
imported only there. Validation is strict: an unknown key, a wrong type or an
unknown provider kind is a ConfigError (exit 78) naming the file and the key.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from rfctl.errors import ConfigError

# kind -> (default base URL, environment variable holding its key)
KINDS: dict[str, tuple[str, str | None]] = {
    "anthropic": ("https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "openai-compatible": ("http://127.0.0.1:8080/v1", None),
    "vllm": ("http://127.0.0.1:8000/v1", "VLLM_API_KEY"),
    "lmstudio": ("http://127.0.0.1:1234/v1", "LM_API_TOKEN"),
    "localai": ("http://127.0.0.1:8080/v1", "LOCALAI_API_KEY"),
    "llamacpp": ("http://127.0.0.1:8080/v1", "LLAMA_API_KEY"),
    "ollama": ("http://127.0.0.1:11434", None),
    "stub": ("stub://", None),
}
# Kinds that run on the user's own hardware: free by declaration.
# Servers people run on their own hardware: free by declaration. The generic
# openai-compatible kind may just as well be a paid gateway, so it is free only
# on a loopback or private address; `free = true|false` in a provider's table
# overrides either rule.
LOCAL_KINDS = frozenset({"ollama", "vllm", "lmstudio", "localai", "llamacpp", "stub"})
# Cloud hosts that refuse every request without a key.
_KEYED_HOSTS = {"api.anthropic.com", "api.openai.com"}

STRATEGIES = ("priority", "round-robin", "cost", "latency")
CAPABILITIES = ("chat", "code", "reasoning", "vision")
SHELLS = ("bash", "zsh", "fish")  # the ones `rfctl completions` writes scripts for


@dataclass
class Defaults:
    strategy: str = "priority"
    timeout: float = 60.0  # one attempt
    deadline: float = 300.0  # the whole call
    retries: int = 2  # per provider, after the first attempt
    max_tokens: int = 1024
    connect_timeout: float = 5.0
    first_byte_timeout: float | None = None  # default: the attempt timeout
    stall_timeout: float = 30.0  # between stream chunks
    cooldown: float = 60.0  # seconds a failing provider is skipped
    max_retry_after: float = 60.0  # longest server-asked wait we honour
    backoff: float = 0.5  # first retry wait; doubles each retry, with jitter
    max_backoff: float = 8.0


def _private_host(url: str) -> bool:
    import ipaddress

    host = (urlparse(url).hostname or "").lower()
    if host == "localhost" or host.endswith((".local", ".localhost", ".internal", ".lan")):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


@dataclass
class ProviderConfig:
    name: str
    kind: str
    base_url: str
    api_key_env: str | None = None
    api_key: str | None = field(default=None, repr=False)  # from the file; discouraged
    model: str | None = None
    models: list[str] = field(default_factory=list)
    priority: int = 0
    enabled: bool = True
    timeout: float | None = None
    connect_timeout: float | None = None
    stall_timeout: float | None = None
    retries: int | None = None
    rpm: float | None = None  # requests per minute (rfctl.pacing)
    tpm: float | None = None  # estimated tokens per minute (rfctl.pacing)
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold tokens
    free: bool | None = None  # None: decided by kind and host (see LOCAL_KINDS)

    @property
    def local(self) -> bool:
        """Free to use (priced at 0, not unknown)."""
        if self.free is not None:
            return self.free
        if self.kind in LOCAL_KINDS:
            return True
        return self.kind == "openai-compatible" and _private_host(self.base_url)

    def key(self) -> str | None:
        """The API key, from the environment first, then the file."""
        if self.api_key_env:
            value = os.environ.get(self.api_key_env)
            if value:
                return value
        return self.api_key or None

    @property
    def key_required(self) -> bool:
        # A cloud kind pointed at a local server (e.g. llama-server's
        # /v1/messages) works without a key; the vendors' own hosts never do.
        return urlparse(self.base_url).hostname in _KEYED_HOSTS

    def key_status(self) -> str:
        """present | missing | not needed — never the key itself."""
        if self.key():
            return "present"
        return "missing" if self.key_required else "not needed"


@dataclass
class Config:
    defaults: Defaults
    providers: dict[str, ProviderConfig]  # in priority order
    budget_daily_usd: float | None = None
    path: Path | None = None  # the file read, None for zero-config
    loaded_from_file: bool = False

    def provider(self, name: str) -> ProviderConfig:
        try:
            return self.providers[name]
        except KeyError:
            known = ", ".join(self.providers) or "none"
            raise ConfigError(
                f"no provider named {name!r} is configured (known: {known})"
            ) from None

    def enabled(self) -> list[ProviderConfig]:
        return [p for p in self.providers.values() if p.enabled]


# ---------------------------------------------------------------- paths


@dataclass(frozen=True)
class Paths:
    config: Path
    models: Path
    usage_log: Path
    state: Path
    config_explicit: bool = False  # named by option or env: a missing file is an error


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def resolve_paths(args=None) -> Paths:
    """Option > environment variable > XDG default, for each file."""

    def pick(opt: str, env: str, default: Path) -> Path:
        value = getattr(args, opt, None) if args is not None else None
        value = value or os.environ.get(env)
        return Path(value).expanduser() if value else default

    conf = _xdg("XDG_CONFIG_HOME", ".config") / "rfctl"
    state = _xdg("XDG_STATE_HOME", ".local/state") / "rfctl"
    return Paths(
        config=pick("config", "RFCTL_CONFIG", conf / "config.toml"),
        models=pick("models_file", "RFCTL_MODELS", conf / "models.yaml"),
        usage_log=pick("usage_log", "RFCTL_USAGE_LOG", state / "usage.jsonl"),
        state=pick("state", "RFCTL_STATE", state / "state.json"),
        config_explicit=bool(getattr(args, "config", None) or os.environ.get("RFCTL_CONFIG")),
    )


# ---------------------------------------------------------------- defaults


def _ollama_url() -> str:
    """OLLAMA_HOST as Ollama reads it ("host", "host:port" or a URL), else the default."""
    ollama = os.environ.get("OLLAMA_HOST", "").strip()
    if not ollama:
        return KINDS["ollama"][0]
    ollama = ollama if "://" in ollama else f"http://{ollama}"
    try:
        has_port = urlparse(ollama).port is not None
    except ValueError:
        has_port = True  # let base_url validation name the problem
    return ollama.rstrip("/") if has_port else ollama.rstrip("/") + ":11434"


def _zero_config_providers() -> list[ProviderConfig]:
    ollama = _ollama_url()
    out = [
        ProviderConfig(
            "claude",
            "anthropic",
            KINDS["anthropic"][0],
            "ANTHROPIC_API_KEY",
            model="claude-sonnet-4-5",
        ),
        ProviderConfig(
            "openai", "openai", KINDS["openai"][0], "OPENAI_API_KEY", model="gpt-4o-mini"
        ),
        ProviderConfig("ollama", "ollama", ollama.rstrip("/"), None, model="llama3.2"),
        ProviderConfig("vllm", "vllm", KINDS["vllm"][0], "VLLM_API_KEY"),
        ProviderConfig("lmstudio", "lmstudio", KINDS["lmstudio"][0], "LM_API_TOKEN"),
        ProviderConfig("localai", "localai", KINDS["localai"][0], "LOCALAI_API_KEY"),
    ]
    for i, p in enumerate(out, 1):
        p.priority = i
    return out


def builtin_stub() -> ProviderConfig:
    """Always available to `-p stub` (offline, deterministic); never routed to."""
    return ProviderConfig(
        "stub", "stub", "stub://", None, model="stub-echo", priority=1000, enabled=False
    )


# ---------------------------------------------------------------- loading


def _schema(cls) -> dict:
    """TOML value types accepted for each field of a dataclass of defaults."""
    from dataclasses import fields

    kinds = {"str": str, "int": int, "bool": bool}
    return {f.name: kinds.get(str(f.type), (int, float)) for f in fields(cls)}


_DEFAULT_KEYS = _schema(Defaults)
_PROVIDER_KEYS = {
    "kind": str,
    "base_url": str,
    "api_key_env": str,
    "api_key": str,
    "model": str,
    "models": list,
    "priority": int,
    "enabled": bool,
    "timeout": (int, float),
    "connect_timeout": (int, float),
    "stall_timeout": (int, float),
    "retries": int,
    "rpm": (int, float),
    "tpm": (int, float),
    "headers": dict,
    "free": bool,
}
_BUDGET_KEYS = {"daily_usd": (int, float)}
_TOP_KEYS = {"defaults", "budget", "providers"}


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
_AT_LEAST = {"retries": 0, "max_tokens": 1, "cooldown": 0, "backoff": 0, "daily_usd": 0}


def _check_ranges(where: str, table: dict, path: Path) -> None:
    import math

    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value):
            raise ConfigError(f"{path}: {where}{key} must be a finite number")
        if key in _POSITIVE and value <= 0:
            raise ConfigError(f"{path}: {where}{key} must be greater than 0, not {value}")
        if key in _AT_LEAST and value < _AT_LEAST[key]:
            raise ConfigError(f"{path}: {where}{key} must be at least {_AT_LEAST[key]}")


def _check_url(url: str, where: str, path: Path) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as e:
        raise ConfigError(f"{path}: {where}base_url is not a valid URL: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{path}: {where}base_url must be an http(s) URL with a host")


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


def load(paths: Paths | None = None, *, required: bool = False) -> Config:
    """Read the config file, or build the zero-config defaults when there is none."""
    import tomllib  # here, not at the top: commands that never read config skip it

    paths = paths or resolve_paths()
    path = paths.config
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        if required or paths.config_explicit:
            raise ConfigError(f"{path}: config file not found") from None
        return _finish(Config(Defaults(), {}, None, path=None), _zero_config_providers())
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config: {e.strerror}") from None
    try:
        text = raw_bytes.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {_position(text, e)}") from None
    return from_dict(data, path)


def from_dict(data: dict, path: Path) -> Config:
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{path}: unknown key {key!r}")
    defaults = Defaults()
    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        raise ConfigError(f"{path}: [defaults] must be a table")
    _check("defaults.", raw_defaults, _DEFAULT_KEYS, path)
    _check_ranges("defaults.", raw_defaults, path)
    for key, value in raw_defaults.items():
        setattr(defaults, key, float(value) if isinstance(getattr(defaults, key), float) else value)
    if defaults.strategy not in STRATEGIES:
        raise ConfigError(
            f"{path}: defaults.strategy must be one of {', '.join(STRATEGIES)}, "
            f"not {defaults.strategy!r}"
        )
    budget = data.get("budget", {})
    if not isinstance(budget, dict):
        raise ConfigError(f"{path}: [budget] must be a table")
    _check("budget.", budget, _BUDGET_KEYS, path)
    _check_ranges("budget.", budget, path)

    providers: list[ProviderConfig] = []
    raw_providers = data.get("providers", {})
    if not isinstance(raw_providers, dict):
        raise ConfigError(f"{path}: [providers] must be a table of tables")
    for order, (name, table) in enumerate(raw_providers.items(), 1):
        where = f"providers.{name}."
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [providers.{name}] must be a table")
        _check(where, table, _PROVIDER_KEYS, path)
        _check_ranges(where, table, path)
        kind = table.get("kind")
        if kind is None:
            raise ConfigError(f"{path}: {where}kind is required ({' | '.join(KINDS)})")
        if kind not in KINDS:
            raise ConfigError(
                f"{path}: {where}kind: unknown provider kind {kind!r} ({' | '.join(KINDS)})"
            )
        default_url, default_env = KINDS[kind]
        if kind == "ollama" and "base_url" not in table and os.environ.get("OLLAMA_HOST"):
            default_url = _ollama_url()
        p = ProviderConfig(
            name=name,
            kind=kind,
            base_url=str(table.get("base_url", default_url)).rstrip("/"),
            api_key_env=table.get("api_key_env", default_env) or None,
            api_key=table.get("api_key"),
            model=table.get("model"),
            models=[str(m) for m in table.get("models", [])],
            priority=table.get("priority", order),
            enabled=table.get("enabled", True),
            timeout=_f(table.get("timeout")),
            connect_timeout=_f(table.get("connect_timeout")),
            stall_timeout=_f(table.get("stall_timeout")),
            retries=table.get("retries"),
            rpm=_f(table.get("rpm")),
            tpm=_f(table.get("tpm")),
            headers={str(k): str(v) for k, v in table.get("headers", {}).items()},
            free=table.get("free"),
        )
        if p.kind != "stub":
            _check_url(p.base_url, where, path)
        providers.append(p)
        if p.api_key:
            _warn_if_key_exposed(path)
    cfg = Config(defaults, {}, budget.get("daily_usd"), path=path, loaded_from_file=True)
    return _finish(cfg, providers)


def _f(value) -> float | None:
    return None if value is None else float(value)


def _finish(cfg: Config, providers: list[ProviderConfig]) -> Config:
    # Stable sort: equal priorities keep file order.
    providers = sorted(providers, key=lambda p: p.priority)
    cfg.providers = {p.name: p for p in providers}
    cfg.providers.setdefault("stub", builtin_stub())
    return cfg


def _warn_if_key_exposed(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        from rfctl import console

        console.warn_once(
            f"{path} holds an API key and is readable by others; chmod 600 it or use api_key_env"
        )
