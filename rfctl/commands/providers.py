"""rfctl providers: every configured provider, and whether it answers right now.

Also home of the helpers `models` and `probe` share: checking providers in
parallel under one time bound, cooldowns from the router state, display-safe URLs.
"""

from __future__ import annotations

import argparse
import re
import sys

HELP = "list configured providers: key, reachability, latency, cooldown, models"

DESCRIPTION = """\
List every configured provider with its kind, base URL, priority, whether it
is enabled, whether its API key is present (never the key), whether it
answers right now (all checked at once, bounded by --timeout), its latency,
its routing cooldown and the models it serves. A table on a terminal,
tab-separated text into a pipe, --json for machines."""

DEFAULT_TIMEOUT = 5.0


def add_parser(sub, parents):
    from rfctl.table import add_format_options

    p = sub.add_parser(
        "providers",
        parents=parents,
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("names", nargs="*", metavar="PROVIDER", help="only these providers")
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"bound on all the checks together (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--no-check",
        action="store_true",
        help="do not contact the providers (configuration and cooldowns only)",
    )
    add_format_options(p)
    p.set_defaults(run=run)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _columns():
    from rfctl.table import Column

    def ms(v):
        return "-" if v is None else f"{v:.0f} ms"

    def secs(v):
        return "-" if not v else f"{v:.0f}s"

    def yes_no(v):
        return "?" if v is None else ("yes" if v else "no")

    def models(v):
        if not v:
            return "-"
        return ", ".join(v[:4]) + (f" (+{len(v) - 4})" if len(v) > 4 else "")

    return [
        Column("name", "name"),
        Column("kind", "kind"),
        Column("base_url", "base URL", wrap=True),
        Column("priority", "prio", right=True),
        Column("enabled", "enabled", human=yes_no),
        Column("key", "key"),
        Column("reachable", "reachable", human=yes_no),
        Column("latency_ms", "latency", human=ms, right=True),
        Column("cooldown_s", "cooldown", human=secs, right=True),
        Column("models", "models", human=models, wrap=True),
        Column("detail", "detail", wrap=True),
    ]


def run(args) -> int:
    from rfctl import config
    from rfctl.table import emit

    paths = config.resolve_paths(args)
    cfg = config.load(paths)
    providers = select(cfg, args.names)
    verbose = getattr(args, "verbose", 0)
    cool = cooldowns(paths, verbose)
    results = {} if args.no_check else check_health(providers, args.timeout)
    rows = [_row(p, results.get(p.name), cool.get(p.name), args.no_check) for p in providers]
    emit(rows, _columns(), args.format, header=not args.no_header)
    return 0


def _row(p, check, cooldown, no_check: bool) -> dict:
    configured = configured_models(p)
    row = {
        "name": p.name,
        "kind": p.kind,
        "base_url": safe_url(p.base_url),
        "priority": p.priority,
        "enabled": p.enabled,
        "key": p.key_status(),
        "reachable": None,
        "latency_ms": None,
        "cooldown_s": round(cooldown, 1) if cooldown and cooldown > 0 else None,
        "models": configured,
        "detail": "not checked" if no_check else None,
        "model": p.model,
    }
    if check is not None:
        row["reachable"] = check.ok
        row["latency_ms"] = None if check.latency_ms is None else round(check.latency_ms, 1)
        row["detail"] = scrub(check.detail) or None
        if check.models:
            row["models"] = list(check.models)
    return row


# ---------------------------------------------------------------- shared helpers


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


def cooldowns(paths, verbose: int = 0) -> dict[str, float]:
    """{provider: seconds left} from the router state; {} when there is none."""
    try:
        from rfctl import state
    except ImportError:
        return {}
    try:
        return dict(state.cooldowns(paths.state))
    except Exception as e:  # a damaged state file must not break a listing
        if verbose:
            print(f"rfctl: warning: cannot read cooldowns from {paths.state}: {e}", file=sys.stderr)
        return {}


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
