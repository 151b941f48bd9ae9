"""The response cache: answers stored under a hash of everything that decides them.

One file per answer, `DIR/<key>.json`, where the key is the sha256 of a
canonical JSON form of the request as one provider would receive it (see
request_key). Entries are replaced with rfctl.atomic (a reader sees a whole
entry or none, so parallel invocations need no lock), their mtime is the last
use (touched on every hit) and drives LRU pruning, and the creation time
inside the entry drives the TTL. An entry that cannot be read back as a
complete, well-formed answer for its key is ignored and removed: the cache is
only ever an optimisation, never a source of errors.

A hit is on the generate path and must cost about as much as `rfctl
--version`, so this module imports only hashlib, json, os and time at the
top; the atomic writer (tempfile) is imported when an entry is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field

DEFAULT_TTL = 7 * 24 * 3600.0  # seconds an answer stays usable
DEFAULT_MAX_BYTES = 256 << 20  # the cache directory's size cap; LRU pruned
FORMAT = 1  # bumped when the entry layout or the key's canonical form changes

# What may go into the request part of a key: exactly what changes the answer.
# Anything else (API keys, headers, timeouts, streaming, retries, logging) does
# not, and an unknown field is a programming error rather than silently part
# of the key (or silently left out of it).
REQUEST_FIELDS = (
    "messages",  # [{"role": "user"|"assistant"|"system", "content": str}, ...] in order
    "system",  # the system prompt
    "temperature",
    "top_p",
    "seed",
    "max_tokens",
    "stop",  # stop sequences, in the order given
    "schema",  # the JSON Schema the answer must follow (a parsed object)
    "reasoning",  # {"thinking": tokens, "effort": "low"|"medium"|"high"}
    "attachments",  # the attachments' sha256 digests (with media type), in order
)
_FLOAT_FIELDS = ("temperature", "top_p")
# Finish reasons that mean the answer is not a whole answer.
_UNCACHEABLE = frozenset({"error", "interrupted", "cancelled"})
_STALE_TEMP = 3600.0  # a temp file older than this belongs to a writer that died


def default_dir() -> str:
    """$XDG_CACHE_HOME/rfctl/responses (~/.cache/rfctl/responses)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rfctl", "responses")


def request_key(kind: str, base_url: str, model: str, request: dict) -> str:
    """The cache key (64 hex digits) for sending `request` to `model` at a provider.

    In the key: the provider kind, its base URL (scheme and host lowercased,
    no trailing slash, credentials stripped: user:password@ and key-like query
    parameters), the model actually requested, and the request fields of
    REQUEST_FIELDS. Fields that are None or empty count as absent, integral
    temperatures equal their float form, and mapping order never matters
    (keys are sorted); list order does. API keys are never in it: a rotated
    key still hits, and nothing derived from a key is written to disk.
    """
    unknown = set(request) - set(REQUEST_FIELDS)
    if unknown:
        raise ValueError(f"not a cache-key field: {', '.join(sorted(unknown))}")
    canon = {}
    for name in REQUEST_FIELDS:
        value = request.get(name)
        if value is None or value == [] or value == {} or value == "":
            continue
        if name in _FLOAT_FIELDS and not isinstance(value, bool):
            value = float(value)
        canon[name] = value
    doc = {
        "format": FORMAT,
        "kind": kind,
        "base_url": _canonical_url(base_url),
        "model": model,
        "request": canon,
    }
    text = json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _canonical_url(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    from rfctl.redact import display_url

    url = display_url(url.strip())  # no user:password@, no key=... in the query
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rstrip("/")
    return urlunsplit(
        parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower())
    ).rstrip("/")


@dataclass
class Entry:
    """One cached answer: what generate prints and what its usage record says."""

    text: str
    provider: str  # the configured provider name that answered
    kind: str
    model: str | None  # as the server reported it
    finish_reason: str | None
    usage: dict = field(default_factory=dict)  # input_tokens, output_tokens, ... of the original
    cost_usd: float | None = None  # what the original call cost (a hit costs 0)
    created: float = 0.0  # epoch seconds; 0: set by put()

    def usage_fields(self) -> dict:
        """Keyword arguments for the hit's UsageRecord: the original's tokens,
        cost 0 (nothing was paid for this answer), marked cached."""
        u = self.usage
        return {
            "provider": self.provider,
            "kind": self.kind,
            "model": self.model,
            "status": "ok",
            "input_tokens": u.get("input_tokens"),
            "output_tokens": u.get("output_tokens"),
            "cached_input_tokens": u.get("cached_input_tokens"),
            "tokens_source": u.get("source"),
            "finish_reason": self.finish_reason,
            "cost_usd": 0.0,
            "cached": True,
            "saved_usd": self.cost_usd or None,  # what asking again would have cost
        }


def cacheable(text, finish_reason: str | None) -> bool:
    """Only a whole answer is cached: not a failure, an interrupted or a cut one."""
    return isinstance(text, str) and finish_reason not in _UNCACHEABLE


@dataclass
class Stats:
    dir: str
    entries: int
    bytes: int
    expired: int
    max_bytes: int
    ttl: float
    oldest: float | None  # creation times, epoch seconds
    newest: float | None
    cost_usd: float  # what the cached answers cost when they were first made


def _check_key(key: str) -> None:
    # The key names a file: only ever 64 lowercase hex digits.
    if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
        raise ValueError(f"not a cache key: {key!r}")


def _decode(raw: bytes, key: str) -> Entry | None:
    try:
        d = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("key") != key:
        return None
    try:
        e = Entry(
            text=d["text"],
            provider=d["provider"],
            kind=d["kind"],
            model=d.get("model"),
            finish_reason=d.get("finish_reason"),
            usage=d.get("usage") or {},
            cost_usd=d.get("cost_usd"),
            created=d["created"],
        )
    except (KeyError, TypeError):
        return None
    ok = (
        isinstance(e.text, str)
        and isinstance(e.provider, str)
        and isinstance(e.kind, str)
        and isinstance(e.usage, dict)
        and isinstance(e.created, int | float)
        and not isinstance(e.created, bool)
        and (e.cost_usd is None or isinstance(e.cost_usd, int | float))
    )
    return e if ok else None


class Cache:
    """The cache directory. Every method is safe with other processes using
    the same directory at the same time; none raises for a broken entry."""

    def __init__(
        self,
        dir: str | os.PathLike | None = None,
        ttl: float = DEFAULT_TTL,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ):
        self.dir = os.fspath(dir) if dir is not None else default_dir()
        self.ttl = float(ttl)
        self.max_bytes = int(max_bytes)

    def _path(self, key: str) -> str:
        _check_key(key)
        return os.path.join(self.dir, key + ".json")

    # ------------------------------------------------------------ the hot path

    def get(self, key: str, now: float | None = None) -> Entry | None:
        """The entry for key, or None (missing, expired or unreadable; the last
        two are removed). A hit counts as a use for LRU pruning."""
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        except OSError:
            return None
        finally:
            os.close(fd)
        entry = _decode(b"".join(chunks), key)
        now = time.time() if now is None else now
        if entry is None or now - entry.created >= self.ttl:
            self._remove_if_same(path, st)
            return None
        try:
            os.utime(path, (now, now))
        except OSError:
            pass
        return entry

    def touch(self, key: str, now: float | None = None) -> None:
        """Mark an entry as just used (get() does this on a hit)."""
        now = time.time() if now is None else now
        try:
            os.utime(self._path(key), (now, now))
        except OSError:
            pass

    @staticmethod
    def _remove_if_same(path: str, st: os.stat_result) -> None:
        # Only the file that was read: a writer may have put a good one in its
        # place meanwhile, and that one stays.
        try:
            if os.stat(path).st_ino == st.st_ino:
                os.unlink(path)
        except OSError:
            pass

    # ------------------------------------------------------------ writing

    def put(self, key: str, entry: Entry, now: float | None = None) -> bool:
        """Store entry under key, atomically, then prune to the size cap.
        Returns False (and stores nothing) for an answer that is not whole;
        a cache that cannot be written is one warning, never a failure."""
        if not cacheable(entry.text, entry.finish_reason):
            return False
        now = time.time() if now is None else now
        path = self._path(key)
        doc = {"format": FORMAT, "key": key, **asdict(entry)}
        if not doc["created"]:
            doc["created"] = now
        try:
            data = json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError):
            return False  # a field that is not JSON: a bug upstream, still not fatal
        from rfctl.atomic import write_file_atomic

        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            # Lost in a power cut, never torn: no fsync for a cache.
            write_file_atomic(path, data, 0o600, durable=False)
        except OSError as e:
            from rfctl import console

            console.warn_once(f"cannot write the response cache {self.dir}: {e.strerror or e}")
            return False
        if len(data) <= self.max_bytes:
            self._prune_lru(now, keep=key)
        return True

    # ------------------------------------------------------------ housekeeping

    def _scan(self) -> list[tuple[str, os.stat_result]]:
        """(path, stat) of every entry file; stale temp files are removed."""
        out = []
        try:
            it = os.scandir(self.dir)
        except OSError:
            return out
        now = time.time()
        with it:
            for de in it:
                try:
                    st = de.stat(follow_symlinks=False)
                except OSError:
                    continue
                if de.name.startswith(".") and de.name.endswith(".tmp"):
                    if now - st.st_mtime > _STALE_TEMP:
                        _unlink(de.path)
                    continue
                if de.name.endswith(".json") and len(de.name) == 69 and de.is_file():
                    out.append((de.path, st))
        return out

    def _prune_lru(self, now: float, keep: str | None = None) -> tuple[int, int]:
        """Remove entries unused for longer than the TTL (cheap: by mtime), then
        the least recently used until the directory fits max_bytes."""
        files = self._scan()
        removed = freed = 0
        live = []
        for path, st in files:
            if now - st.st_mtime >= self.ttl:  # unused for a TTL: surely expired
                if _unlink(path):
                    removed, freed = removed + 1, freed + st.st_size
            else:
                live.append((path, st))
        total = sum(st.st_size for _, st in live)
        if total > self.max_bytes:
            live.sort(key=lambda f: f[1].st_mtime)
            keep_name = None if keep is None else keep + ".json"
            for path, st in live:
                if total <= self.max_bytes:
                    break
                if os.path.basename(path) == keep_name:
                    continue  # the entry just written stays
                if _unlink(path):
                    removed, freed = removed + 1, freed + st.st_size
                total -= st.st_size
        return removed, freed

    def prune(self, now: float | None = None) -> tuple[int, int]:
        """Remove expired and unreadable entries, then LRU down to max_bytes.
        Returns (entries removed, bytes freed)."""
        now = time.time() if now is None else now
        removed = freed = 0
        for path, st in self._scan():
            key = os.path.basename(path)[:-5]
            entry = _read(path, key)
            if (entry is None or now - entry.created >= self.ttl) and _unlink(path):
                removed, freed = removed + 1, freed + st.st_size
        r, f = self._prune_lru(now)
        self._prune_memos(lambda st: now - st.st_mtime >= self.ttl)
        return removed + r, freed + f

    def clear(self) -> tuple[int, int]:
        """Remove every entry. Returns (entries removed, bytes freed)."""
        removed = freed = 0
        for path, st in self._scan():
            if _unlink(path):
                removed, freed = removed + 1, freed + st.st_size
        self._prune_memos(lambda st: True)
        return removed, freed

    def _prune_memos(self, stale) -> None:
        # rfctl.cache_hit's memos (DIR/memo/): each names an entry, and is
        # useless once that entry is gone; an old one is removed here.
        try:
            it = os.scandir(os.path.join(self.dir, "memo"))
        except OSError:
            return
        with it:
            for de in it:
                try:
                    if de.name.endswith(".json") and stale(de.stat(follow_symlinks=False)):
                        os.unlink(de.path)
                except OSError:
                    pass

    def stats(self, now: float | None = None) -> Stats:
        now = time.time() if now is None else now
        entries = size = expired = 0
        cost = 0.0
        created = []
        for path, st in self._scan():
            entry = _read(path, os.path.basename(path)[:-5])
            entries += 1
            size += st.st_size
            if entry is None or now - entry.created >= self.ttl:
                expired += 1
                continue
            created.append(entry.created)
            cost += entry.cost_usd or 0.0
        return Stats(
            dir=self.dir,
            entries=entries,
            bytes=size,
            expired=expired,
            max_bytes=self.max_bytes,
            ttl=self.ttl,
            oldest=min(created) if created else None,
            newest=max(created) if created else None,
            cost_usd=round(cost, 10),
        )


def _read(path: str, key: str) -> Entry | None:
    try:
        with open(path, "rb") as f:
            return _decode(f.read(), key)
    except OSError:
        return None


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:
        return False
