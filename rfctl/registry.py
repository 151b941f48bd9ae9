"""The model registry: context windows, capabilities and prices by model name.

The shipped table is rfctl/data/models.yaml; a user file (Paths.models) is
merged over it per entry id, field by field. Routing reads the registry on
every `generate`, and importing yaml plus parsing the file costs tens of
milliseconds, so the validated, merged result is cached as JSON under
$XDG_CACHE_HOME/rfctl/, keyed by both files' stat data and the rfctl version;
yaml is imported only on a cache miss.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rfctl import __version__
from rfctl.config import CAPABILITIES
from rfctl.errors import ConfigError

SHIPPED = Path(__file__).resolve().parent / "data" / "models.yaml"
VENDORS = ("anthropic", "openai", "local")

_CACHE_FORMAT = 2  # 2: prices carry their source


@dataclass
class Prices:
    """USD per million tokens (rfctl/cost.py turns usage into dollars)."""

    input: float
    output: float
    cached_input: float | None = None  # cache reads
    cache_write: float | None = None  # Anthropic 5-minute cache writes
    as_of: str | None = None
    source: str = "rfctl"  # "user": from the user's models.yaml, which wins over every other


@dataclass
class ModelEntry:
    id: str
    aliases: list[str] = field(default_factory=list)
    vendor: str = "local"  # anthropic | openai | local
    context: int | None = None  # tokens, input + output
    max_output: int | None = None
    capabilities: list[str] = field(default_factory=list)  # subset of CAPABILITIES
    prices: Prices | None = None
    free: bool = False  # local weights: no per-token price
    family: str | None = None
    verified: bool = True  # False: the id is inferred, not confirmed by the vendor
    note: str | None = None

    @property
    def local(self) -> bool:
        return self.vendor == "local"

    def has(self, capability: str) -> bool:
        return capability in self.capabilities


def vendor_for_kind(kind: str) -> str:
    """Which registry vendor a provider kind serves."""
    return kind if kind in ("anthropic", "openai") else "local"


# ---------------------------------------------------------------- resolution

# A dated snapshot suffix: -2024-07-18, -20250929, @20250929 (Vertex spelling).
_DATE = r"[-@](?:\d{4}-\d{2}-\d{2}|\d{8})$"
# What may follow a local family name in a file or repository name without
# changing the model: sizes, "instruct", quantisation, a dotted version. Every
# other word (vision, large, nemo, distill, ...) means a different model, so a
# name with one does not resolve by prefix.
_NOISE = (
    r"(?:[-_.:](?:"
    r"\d+(?:\.\d+)?[bmk]"  # 7b, 0.5b, 270m
    r"|\d+x\d+(?:\.\d+)?b"  # 8x7b
    r"|[ae]\d+(?:\.\d+)?b"  # a3b (active), e4b (effective)
    r"|instruct|it|chat|base|latest|hf|gguf|qat|mlx"
    r"|v\d+\.\d+(?:\.\d+)?"  # v0.3
    r"|i?q\d(?:_[a-z0-9]+)*"  # q4_k_m, q8_0, iq4_xs
    r"|f16|fp16|bf16|f32|fp8|int4|int8|awq|gptq|ud"
    r")(?=[-_.:]|$))*$"
)
# Patterns are compiled on first use (re caches them): loading the registry
# for `generate` must not pay for resolution it may never do.
_SEP = "-_.:"


def _candidates(key: str) -> list[str]:
    """Exact-lookup keys for a name, most specific first."""
    out = [key]
    if "/" in key:  # Qwen/Qwen2.5-7B-Instruct, /models/x.gguf, hf.co/user/repo:Q4_K_M
        key = key.rstrip("/").rsplit("/", 1)[-1]
        out.append(key)
    if key.endswith(".gguf"):
        key = key[: -len(".gguf")]
        out.append(key)
    if ":" in key:  # Ollama model:tag; a size tag may name its own entry (gemma3:270m)
        base, tag = key.rsplit(":", 1)
        size = re.split(r"[-_]", tag, maxsplit=1)[0]
        out += [f"{base}:{size}", base]
        key = base
    undated = re.sub(_DATE, "", key)
    if undated != key:
        out.append(undated)
    return out


class Registry:
    def __init__(self, entries: list[ModelEntry], sources: tuple[Path, ...] = ()):
        self._entries = list(entries)
        self.sources = sources
        self._index: dict[str, ModelEntry] = {}
        for e in self._entries:
            for alias in e.aliases:
                self._index.setdefault(alias.lower(), e)
        for e in self._entries:  # an id always wins over another entry's alias
            self._index[e.id.lower()] = e
        # Family-prefix matching is for local weights only: for cloud models a
        # longer name is a different product with different prices
        # (gpt-5.4 vs gpt-5.4-pro).
        prefixes = [(k, e) for e in self._entries if e.local for k in [e.id, *e.aliases]]
        self._prefixes = sorted(((k.lower(), e) for k, e in prefixes), key=lambda p: -len(p[0]))

    def entries(self) -> list[ModelEntry]:
        return list(self._entries)

    def names(self, aliases: bool = True) -> list[str]:
        """Every id (and alias), sorted: for completions and scripts."""
        names = {e.id for e in self._entries}
        if aliases:
            names.update(a for e in self._entries for a in e.aliases)
        return sorted(names, key=str.lower)

    def get(self, model_id: str) -> ModelEntry | None:
        e = self._index.get(model_id.lower())
        return e if e is not None and e.id.lower() == model_id.lower() else None

    def resolve(self, name: str | None) -> ModelEntry | None:
        """The entry for a model name as users and servers spell it, or None."""
        if not name:
            return None
        key = name.strip().lower()
        if not key:
            return None
        cands = _candidates(key)
        for c in cands:
            e = self._index.get(c)
            if e is not None:
                return e
        return self._by_prefix(cands[-1])

    def _by_prefix(self, stem: str) -> ModelEntry | None:
        for prefix, e in self._prefixes:  # longest first: gemma-3-270m before gemma-3
            if (
                len(stem) > len(prefix)
                and stem.startswith(prefix)
                and stem[len(prefix)] in _SEP
                and re.compile(_NOISE).match(stem, len(prefix))
            ):
                return e
        return None


# ---------------------------------------------------------------- loading

_memo: dict[str, Registry] = {}
# Pinned for the length of a batch (pinned()): {models path: registry or None
# until first loaded}.
_pinned: dict[str, Registry | None] = {}


def load(paths=None) -> Registry:
    """The shipped registry with the user's file merged over it."""
    if paths is None:
        from rfctl.config import resolve_paths

        paths = resolve_paths()
    if _pinned:
        where = os.fspath(paths.models)
        if _pinned.get(where) is not None:
            return _pinned[where]
        if where in _pinned:
            reg = _pinned[where] = _load(paths)
            return reg
    return _load(paths)


@contextlib.contextmanager
def pinned(paths):
    """Within the block, load(paths) checks the files once, not per call: a
    --jsonl batch resolves every line's model against the registry it first
    loaded (3 stats and a key per line saved)."""
    where = os.fspath(paths.models)
    if where in _pinned:
        yield
        return
    _pinned[where] = None
    try:
        yield
    finally:
        _pinned.pop(where, None)


def _load(paths) -> Registry:
    user = Path(paths.models)
    sources = (SHIPPED, user)
    # This module's own stamp too: a changed loader (a development checkout,
    # an upgrade that kept the version) must not read an older cache shape.
    key = {
        "format": _CACHE_FORMAT,
        "version": __version__,
        "sources": [_stamp(p) for p in sources],
        "code": _stamp(Path(__file__)),
    }
    memo_key = json.dumps(key)
    if memo_key in _memo:
        return _memo[memo_key]
    cache = _cache_path(sources)
    entries = _from_cache(cache, key)
    if entries is None:
        raw = _merge(
            _parse(SHIPPED), _parse(user) if key["sources"][1][1] is not None else {}, user
        )
        entries = [_entry(d) for d in raw]
        _write_cache(cache, key, raw)
    reg = Registry(entries, sources)
    _memo[memo_key] = reg
    return reg


def _from_cache(path: Path, key: dict) -> list[ModelEntry] | None:
    raw = _read_cache(path, key)
    if raw is None:
        return None
    try:
        return [_entry(d) for d in raw]
    except (TypeError, ValueError, AttributeError):  # a cache of another shape: rebuild
        return None


def user_file(option: str | None = None) -> Path:
    """The user registry's path: option > RFCTL_MODELS > $XDG_CONFIG_HOME/rfctl/models.yaml.

    The same answer as rfctl.config.resolve_paths().models (a test holds them
    together), without importing rfctl.config and tomllib: `rfctl models
    --names` runs on every shell completion and must start fast.
    """
    value = option or os.environ.get("RFCTL_MODELS")
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "rfctl" / "models.yaml"


def _stamp(path: Path) -> list:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return [str(path), None]
    except OSError as e:
        raise ConfigError(f"{path}: cannot read model registry: {e.strerror}") from None
    # ctime and inode catch same-size edits within one mtime tick and replaced files.
    return [str(path), st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


def _cache_path(sources) -> Path:
    import zlib

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    tag = zlib.crc32("\0".join(str(p) for p in sources).encode("utf-8", "surrogateescape"))
    return Path(base) / "rfctl" / f"registry-{tag:08x}.json"


def _read_cache(path: Path, key: dict) -> list[dict] | None:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    entries = data.get("entries")
    return entries if isinstance(entries, list) else None


def _write_cache(path: Path, key: dict, entries: list[dict]) -> None:
    # A cache: any failure (read-only home, full disk) just means a slower next run.
    import contextlib

    from rfctl.atomic import write_file_atomic

    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"key": key, "entries": entries}, separators=(",", ":"))
        write_file_atomic(path, body, durable=False)


def _entry(d: dict) -> ModelEntry:
    d = dict(d)
    prices = d.pop("prices", None)
    return ModelEntry(**d, prices=Prices(**prices) if prices else None)


# ---------------------------------------------------------------- parsing and validation

_TOP_KEYS = {"models"}
_INT, _NUM, _STR, _BOOL, _STRLIST = (
    "an integer",
    "a number",
    "a string",
    "true or false",
    "a list of strings",
)
_FIELDS = {
    "vendor": _STR,
    "family": _STR,
    "aliases": _STRLIST,
    "context": _INT,
    "max_output": _INT,
    "capabilities": _STRLIST,
    "prices": "a mapping",
    "free": _BOOL,
    "verified": _BOOL,
    "note": _STR,
}
_NULLABLE = {"family", "context", "max_output", "prices", "note"}
_PRICE_FIELDS = {
    "input": _NUM,
    "output": _NUM,
    "cached_input": _NUM,
    "cache_write": _NUM,
    "as_of": _STR,
}
_PRICE_REQUIRED = ("input", "output")


def _parse(path: Path) -> dict[str, dict]:
    """{entry id: {field: value}} from one file, every field type-checked."""
    from rfctl.yamlfile import read_yaml

    data = read_yaml(path, "model registry")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the registry must be a mapping with a 'models' key")
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{path}: unknown top-level key {key!r} (expected 'models')")
    models = data.get("models") or {}
    if not isinstance(models, dict):
        raise ConfigError(f"{path}: 'models' must be a mapping of model id to fields")
    out: dict[str, dict] = {}
    for model_id, fields in models.items():
        if not isinstance(model_id, str) or not model_id.strip():
            raise ConfigError(f"{path}: model ids must be non-empty strings, not {model_id!r}")
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            raise ConfigError(f"{path}: model {model_id!r}: must be a mapping of fields")
        if model_id.lower() in (k.lower() for k in out):
            raise ConfigError(f"{path}: model {model_id!r}: defined twice")
        out[model_id] = {
            name: _field(path, model_id, name, value) for name, value in fields.items()
        }
    return out


def _field(path: Path, model_id: str, name, value):
    where = f"{path}: model {model_id!r}: field {name!r}"
    want = _FIELDS.get(name)
    if want is None:
        raise ConfigError(
            f"{path}: model {model_id!r}: unknown field {name!r} (known: {', '.join(_FIELDS)})"
        )
    if value is None:
        if name in _NULLABLE:
            return None
        raise ConfigError(f"{where} must be {want}, not empty")
    if name == "prices":
        return _prices(where, value)
    value = _typed(where, want, value)
    if name == "vendor" and value not in VENDORS:
        raise ConfigError(f"{where} must be one of {', '.join(VENDORS)}, not {value!r}")
    if name == "capabilities":
        for cap in value:
            if cap not in CAPABILITIES:
                raise ConfigError(
                    f"{where}: unknown capability {cap!r} (known: {', '.join(CAPABILITIES)})"
                )
    if name in ("context", "max_output") and value <= 0:
        raise ConfigError(f"{where} must be a positive number of tokens")
    return value


def _typed(where: str, want: str, value):
    import datetime

    if want == _STR:
        if isinstance(value, datetime.date):  # YAML reads an unquoted 2026-07-24 as a date
            return value.isoformat()
        if isinstance(value, str):
            return value
    elif want == _INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif want == _NUM:
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:
                raise ConfigError(f"{where} is too large") from None
    elif want == _BOOL:
        if isinstance(value, bool):
            return value
    elif want == _STRLIST and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where} must be {want}, not {_describe(value)}")


def _describe(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list" if all(isinstance(v, str) for v in value) else "a list of non-strings"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _prices(where: str, value) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping (input, output, ...), not {_describe(value)}")
    out = {}
    for name, v in value.items():
        want = _PRICE_FIELDS.get(name)
        if want is None:
            raise ConfigError(
                f"{where}: unknown price field {name!r} (known: {', '.join(_PRICE_FIELDS)})"
            )
        if v is None and name not in _PRICE_REQUIRED:
            out[name] = None
            continue
        out[name] = _typed(f"{where[:-1]}.{name}'", want, v)
        if want == _NUM and out[name] < 0:
            raise ConfigError(f"{where[:-1]}.{name}' must not be negative")
    for name in _PRICE_REQUIRED:
        if name not in out:
            raise ConfigError(f"{where[:-1]}.{name}' is required")
    return out


def _merge(shipped: dict[str, dict], user: dict[str, dict], user_path: Path) -> list[dict]:
    """Entries as plain dicts (the cached form), user fields over shipped ones."""
    merged: dict[str, dict] = {k: dict(v) for k, v in shipped.items()}
    by_lower = {k.lower(): k for k in merged}
    claimed: set[str] = set()
    for model_id, fields in user.items():
        if fields.get("prices"):
            fields = {**fields, "prices": {**fields["prices"], "source": "user"}}
        existing = by_lower.get(model_id.lower())
        if existing is None:
            if "vendor" not in fields:
                raise ConfigError(
                    f"{user_path}: model {model_id!r}: field 'vendor' is required "
                    f"for a model not in the shipped registry"
                )
            merged[model_id] = dict(fields)
            by_lower[model_id.lower()] = model_id
        else:
            merged[existing].update(fields)
        claimed.update(a.lower() for a in fields.get("aliases") or [])
    # An alias the user gives one entry is taken away from every other entry.
    if claimed:
        for model_id, fields in merged.items():
            if model_id not in user and model_id.lower() not in {k.lower() for k in user}:
                fields["aliases"] = [
                    a for a in fields.get("aliases") or [] if a.lower() not in claimed
                ]
    out = []
    for model_id, fields in merged.items():
        vendor = fields.get("vendor")
        if vendor is None:
            raise ConfigError(f"{SHIPPED}: model {model_id!r}: field 'vendor' is required")
        entry = ModelEntry(
            id=model_id,
            aliases=fields.get("aliases") or [],
            vendor=vendor,
            context=fields.get("context"),
            max_output=fields.get("max_output"),
            capabilities=fields.get("capabilities") or [],
            prices=Prices(**fields["prices"]) if fields.get("prices") else None,
            free=fields.get("free", vendor == "local"),
            family=fields.get("family"),
            verified=fields.get("verified", True),
            note=fields.get("note"),
        )
        out.append(asdict(entry))
    return out
