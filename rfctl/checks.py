"""Checking providers: health, model listings and probes, all at once under one bound.

The shared library of `providers`, `models` and `probe`: those commands parse,
call these, and render. Every check runs in its own thread, bounded by its
adapter's timeouts and, as a backstop, by `parallel`'s overall bound; a
provider's failure is a value (Check, Listing, Outcome), never an exception.
Also here: which providers a command looks at (`select`), cooldowns from the
router state, and text made safe for display (`scrub`, `safe_url`).
"""

from __future__ import annotations

import re

DEFAULT_TIMEOUT = 5.0  # seconds for all the checks of `providers` and `models` together


# ---------------------------------------------------------------- which providers, shown how


def select(cfg, names: list[str], *, enabled_only: bool = False) -> list:
    """The providers named (in that order; unknown name: ConfigError), else all
    configured ones, leaving out the built-in stub nobody configured."""
    from rfctl.config import builtin_stub

    if names:
        seen = []
        for name in names:
            p = cfg.provider(name)
            if p not in seen:
                seen.append(p)
        return seen
    stub = builtin_stub()
    out = [p for p in cfg.providers.values() if p != stub]
    return [p for p in out if p.enabled] if enabled_only else out


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def scrub(text: str) -> str:
    """Text for display: known keys redacted, user:password@ taken out of URLs."""
    from rfctl.redact import redact

    if not text:
        return text
    return _USERINFO.sub(r"\1", redact(text))


def configured_models(p) -> list[str]:
    out = list(p.models)
    if p.model and p.model not in out:
        out.insert(0, p.model)
    return out


def safe_url(url: str) -> str:
    """The URL without credentials — a credential must never be displayed."""
    from rfctl.redact import display_url

    return display_url(url)


def cooldowns(paths, verbose: int = 0, cfg=None) -> dict:
    """{provider: rfctl.state.Cooldown} from the router state (the file, or
    Redis when [state] url is set): active cooldowns and failure streaks
    still remembered; {} when there is none or it cannot be read."""
    try:
        from rfctl import state

        backend = state.shared(paths, getattr(cfg, "state", None))
        return dict(backend.entries())
    except Exception as e:  # a damaged state must not break a listing
        if verbose:
            from rfctl import console

            console.warn(f"cannot read cooldowns from {paths.state}: {e}")
        return {}


# ---------------------------------------------------------------- health


class Check:
    """What one provider check found."""

    def __init__(
        self,
        ok: bool,
        latency_ms: float | None,
        detail: str = "",
        models: list[str] | None = None,
        error_kind: str | None = None,
    ):
        self.ok = ok
        self.latency_ms = latency_ms
        self.detail = detail
        self.models = models or []
        self.error_kind = error_kind  # ProviderError.kind when it failed: connect, timeout, ...


def parallel(fn, items: list, timeout: float, grace: float = 0.25) -> list:
    """[(value, exception, seconds)] of fn(item) for every item, all at once.

    The adapters bound their own requests by the timeout; `parallel` is the
    backstop that makes the whole check end within timeout + grace whatever
    an adapter does. Worker threads are daemons so a call still hanging does
    not hold the process at exit (a ThreadPoolExecutor joins its workers at
    interpreter shutdown, which would undo the bound).
    """
    import threading
    import time

    results: list = [None] * len(items)
    done = threading.Semaphore(0)

    def work(i, item):
        t0 = time.monotonic()
        try:
            results[i] = (fn(item), None, time.monotonic() - t0)
        except BaseException as e:  # reported per item, never lost in a thread
            results[i] = (None, e, time.monotonic() - t0)
        finally:
            done.release()

    start = time.monotonic()
    for i, item in enumerate(items):
        threading.Thread(target=work, args=(i, item), daemon=True, name=f"rfctl-check-{i}").start()
    end = start + timeout + grace
    for _ in items:
        if not done.acquire(timeout=max(0.0, end - time.monotonic())):
            break
    elapsed = time.monotonic() - start
    return [
        r if r is not None else (None, TimeoutError(f"no answer within {timeout:g}s"), elapsed)
        for r in results
    ]


def health_of(p, timeout: float) -> Check:
    """One provider's health, as a Check; never raises for the provider's failures."""
    from rfctl.providers import make_adapter
    from rfctl.providers.base import ProviderError

    if p.key_required and not p.key():
        return Check(False, None, f"no API key (set {p.api_key_env})", error_kind="auth")
    try:
        h = make_adapter(p).health(timeout)
    except ProviderError as e:
        return Check(False, None, e.short(), error_kind=e.kind)
    return Check(
        bool(h.ok),
        h.latency_ms,
        h.detail or "",
        list(h.models or []),
        None if h.ok else health_error_kind(h),
    )


def health_error_kind(h) -> str | None:
    """connect | timeout | ... for a failed Health.

    Health has no error-kind field yet; adapters put ProviderError.short() in
    detail, which starts with the kind for failures without an HTTP status
    ("connect: connection refused (...)", "timeout: ...").
    """
    kind = getattr(h, "error_kind", None) or getattr(h, "kind", None)
    if kind:
        return kind
    head = (h.detail or "").split(":", 1)[0].strip()
    if head in ("connect", "timeout"):
        return head
    if head.startswith("http "):
        return "http"
    return None


def check_health(providers: list, timeout: float) -> dict:
    """{name: Check} for every provider, checked in parallel within the timeout."""
    out = {}
    for p, (value, exc, secs) in zip(
        providers, parallel(lambda p: health_of(p, timeout), providers, timeout), strict=True
    ):
        out[p.name] = value if exc is None else failed_check(exc, secs)
    return out


def failed_check(exc: BaseException, secs: float) -> Check:
    from rfctl.errors import RfctlError
    from rfctl.providers.base import ProviderError

    if isinstance(exc, TimeoutError):
        return Check(False, secs * 1000, f"timeout: {exc}", error_kind="timeout")
    if isinstance(exc, ProviderError):
        return Check(False, secs * 1000, exc.short(), error_kind=exc.kind)
    if isinstance(exc, RfctlError):
        return Check(False, None, exc.message, error_kind="config")
    # An adapter bug: say what broke in one line, never a traceback.
    from rfctl.redact import redact

    return Check(
        False,
        secs * 1000,
        redact(f"internal error: {type(exc).__name__}: {exc}"),
        error_kind="internal",
    )


# ---------------------------------------------------------------- model listings


class Listing:
    """What one provider said about its models."""

    def __init__(self, status: str, models=None, detail: str = ""):
        self.status = status  # listed | down | unknown
        self.models = models or []  # [ModelInfo]
        self.detail = scrub(detail)


def list_all(providers: list, timeout: float) -> dict:
    """{name: Listing}, every provider asked at once, within the timeout."""
    results = parallel(lambda p: list_one(p, timeout), providers, timeout)
    out = {}
    for p, (value, exc, _secs) in zip(providers, results, strict=True):
        out[p.name] = value if exc is None else failed_listing(exc)
    return out


def list_one(p, timeout: float) -> Listing:
    from rfctl.providers import make_adapter

    if p.key_required and not p.key():
        return Listing("down", detail=f"no API key (set {p.api_key_env})")
    try:
        return Listing("listed", make_adapter(p).list_models(timeout))
    except Exception as e:
        return failed_listing(e)


def failed_listing(exc: BaseException) -> Listing:
    from rfctl.errors import RfctlError
    from rfctl.providers.base import ProviderError
    from rfctl.redact import redact

    if isinstance(exc, TimeoutError):
        return Listing("down", detail=f"timeout: {exc}")
    if isinstance(exc, ProviderError):
        # Cannot connect, or refused our key: not available now. Anything else
        # (no listing endpoint, odd answer) says nothing about the models.
        down = exc.kind in ("connect", "timeout", "auth", "quota")
        return Listing("down" if down else "unknown", detail=exc.short())
    if isinstance(exc, RfctlError):
        return Listing("unknown", detail=exc.message)
    return Listing("unknown", detail=redact(f"internal error: {type(exc).__name__}: {exc}"))


def serves(kind: str, listed: list[str], model: str, reg=None) -> bool:
    """Does a server of this kind that lists `listed` serve `model`?"""
    if kind == "llamacpp" and len(listed) == 1:
        return True  # single-model llama-server ignores the request's model name
    want = model.lower()
    for name in listed:
        have = name.lower()
        if have == want or have == f"{want}:latest" or want == f"{have}:latest":
            return True
    if reg is not None and kind in ("anthropic", "openai"):
        # The vendors accept undated aliases of the dated ids they list
        # (claude-sonnet-4-5 for claude-sonnet-4-5-20250929). Not for local
        # servers: Ollama answers 404 to llama3.2 when only llama3.2:3b is pulled.
        entry = reg.resolve(model)
        return entry is not None and any(reg.resolve(name) is entry for name in listed)
    return False


# ---------------------------------------------------------------- probes


class Outcome:
    """One provider's probe."""

    def __init__(
        self,
        p,
        up: bool,
        seconds: float,
        detail: str,
        latency_ms: float | None,
        error_kind: str | None = None,
        model: str | None = None,
        model_found: bool | None = None,
    ):
        self.p = p
        self.up = up
        self.seconds = seconds
        self.detail = scrub(detail)
        self.latency_ms = latency_ms
        self.error_kind = error_kind
        self.model = model
        self.model_found = model_found

    def as_json(self) -> dict:
        return {
            "provider": self.p.name,
            "kind": self.p.kind,
            "up": self.up,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "duration_s": round(self.seconds, 3),
            "model": self.model,
            "model_found": self.model_found,
            "detail": self.detail,
            "error": self.error_kind,
        }


def shallow_probe(p, cfg, reg, timeout: float) -> Outcome:
    """Health, then (when the server lists models) is the configured model there?"""
    import time

    t0 = time.monotonic()
    h = health_of(p, timeout)
    if not h.ok:
        return Outcome(
            p,
            False,
            time.monotonic() - t0,
            h.detail,
            h.latency_ms,
            h.error_kind or "error",
            p.model,
        )
    listed = h.models
    if p.model and not listed and p.kind != "llamacpp":
        # The health endpoint did not list models (vLLM /health, LocalAI
        # /readyz): ask the list endpoint with the time that is left.
        left = timeout - (time.monotonic() - t0)
        if left > 0.05:
            try:
                from rfctl.providers import make_adapter

                listed = [m.id for m in make_adapter(p).list_models(left)]
            except Exception:  # no listing: the model check is skipped, not failed
                listed = []
    found = serves(p.kind, listed, p.model, reg) if p.model and listed else None
    seconds = time.monotonic() - t0
    if found is False:
        some = ", ".join(listed[:5]) + (" ..." if len(listed) > 5 else "")
        return Outcome(
            p,
            False,
            seconds,
            f"model {p.model!r} not found (serves: {some})",
            h.latency_ms,
            "model_not_found",
            p.model,
            False,
        )
    return Outcome(p, True, seconds, h.detail or "ok", h.latency_ms, None, p.model, found)


PROBE_PROMPT = "Hi"


def generate_probe(p, cfg, reg, timeout: float, book=None) -> Outcome:
    """One one-token generation. book(p, model, result_or_error, latency_ms),
    when given, records the attempt in the usage log (it spends tokens)."""
    import time

    from rfctl.providers import make_adapter
    from rfctl.providers.base import ProviderError, Request, Timeouts

    t0 = time.monotonic()
    connect = min(timeout, p.connect_timeout or cfg.defaults.connect_timeout)
    t = Timeouts(
        connect=connect, first_byte=timeout, stall=timeout, attempt=timeout, deadline=t0 + timeout
    )
    try:
        result = make_adapter(p).generate(Request(prompt=PROBE_PROMPT, max_tokens=1), t)
    except ProviderError as e:
        if book is not None:
            book(p, p.model, e, (time.monotonic() - t0) * 1000)
        return Outcome(
            p,
            False,
            time.monotonic() - t0,
            e.short(),
            (time.monotonic() - t0) * 1000,
            e.kind,
            p.model,
        )
    seconds = time.monotonic() - t0
    model = result.model or p.model
    if book is not None:
        book(p, p.model, result, result.latency_ms or seconds * 1000)
    detail = f"generated {result.usage.output_tokens or len(result.text.split())} token(s)"
    return Outcome(p, True, seconds, detail, result.latency_ms or seconds * 1000, None, model, True)


def crashed_probe(p, exc: BaseException, secs: float) -> Outcome:
    c = failed_check(exc, secs)
    return Outcome(p, False, secs, c.detail, c.latency_ms, c.error_kind, p.model)
