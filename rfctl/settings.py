"""Which setting wins: a command-line flag, then the provider's own table,
then `[defaults]`. This is the one place that order is decided.

Options carries what the user asked for on the command line; a value left
None was not given there, so the provider's setting (when it has one, 0
included) and then the config default decide it. The values read from the
config file were checked when it was loaded (exit 78 naming the key); flags
are checked here (exit 64).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rfctl.errors import UsageError
from rfctl.providers.base import Request, Timeouts

if TYPE_CHECKING:
    from rfctl.config import Config, ProviderConfig


@dataclass
class Options:
    """How one generate call may be served. None: not given as a flag."""

    providers: list[str] = field(default_factory=list)  # -p, in order: an explicit chain
    model: str | None = None  # -m
    strategy: str | None = None  # --strategy
    capability: str | None = None
    timeout: float | None = None  # one attempt
    deadline: float | None = None  # the whole call
    retries: int | None = None  # per provider, after the first attempt
    fallback: bool = True
    live: bool = False  # text goes straight to the user as it arrives
    max_cost: float | None = None
    log: bool = True
    verbose: int = 0
    json: bool = False  # --dry-run prints the plan as JSON
    show_thinking: bool = False  # the model's reasoning goes to stderr
    # Set when the user interrupts a batch (Ctrl-C): attempts still in flight
    # on worker threads then end without logging, cooldowns or state writes.
    cancel: threading.Event | None = None
    pace: object | None = None  # rfctl.pacing.Pacer: --rpm/--tpm, shared by a batch's workers


@dataclass
class Policy:
    """How one candidate is retried (see rfctl.routing.retry)."""

    retries: int = 2  # retries after the first attempt
    base: float = 0.5  # first backoff, seconds
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  # longest server-asked wait we honour
    jitter: tuple[float, float] = (0.75, 1.0)


def _first(*values):
    """The first value that is set (0 included)."""
    return next((v for v in values if v is not None), None)


# ---------------------------------------------------------------- from flags


def options(args) -> Options:
    """Options from generate's flags, checked."""
    for flag, value in (("timeout", args.timeout), ("deadline", args.deadline)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UsageError(f"--{flag} must be a positive number of seconds")
    if args.retries is not None and args.retries < 0:
        raise UsageError("--retries must be 0 or more")
    if args.temperature is not None and not (
        math.isfinite(args.temperature) and args.temperature >= 0
    ):
        raise UsageError("--temperature must be 0 or more")
    if args.max_cost is not None and not (math.isfinite(args.max_cost) and args.max_cost >= 0):
        raise UsageError("--max-cost must be 0 or more")
    return Options(
        providers=list(args.provider),
        model=args.model,
        strategy=args.strategy,
        capability=args.capability,
        timeout=args.timeout,
        deadline=args.deadline,
        retries=args.retries,
        fallback=not args.no_fallback,
        max_cost=args.max_cost,
        log=not args.no_log,
        verbose=getattr(args, "verbose", 0) or 0,
        json=args.format == "json",
        show_thinking=bool(getattr(args, "show_thinking", False)),
    )


def request(args, cfg: Config, prompt: str) -> Request:
    """The request the flags describe (a --jsonl line's fields override it)."""
    max_tokens = _first(args.max_tokens, cfg.defaults.max_tokens)
    if max_tokens is not None and max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    thinking = getattr(args, "thinking", None)
    if thinking is not None and thinking < 1:
        raise UsageError("--thinking must be at least 1 token")
    return Request(
        prompt=prompt,
        model=args.model,
        system=args.system,
        temperature=args.temperature,
        max_tokens=max_tokens,
        stop=list(args.stop),
        attachments=_attachments(args),
        schema=_schema(args),
        thinking=thinking,
        reasoning_effort=getattr(args, "reasoning_effort", None),
    )


def _attachments(args) -> list:
    """-a FILE...: read and checked now, before anything is sent."""
    names = getattr(args, "attach", None) or []
    if not names:
        return []
    from rfctl import attachments

    return attachments.load_all(names, stdin_ok=not getattr(args, "jsonl", False))


def _schema(args) -> dict | None:
    value = getattr(args, "schema", None)
    if value is None:
        return None
    from rfctl import schema  # imports jsonschema: only on this path

    return schema.load(value)


# ---------------------------------------------------------------- resolved


def strategy(cfg: Config, opts: Options) -> str:
    """An explicit -p chain keeps its order unless --strategy is given."""
    if opts.strategy is not None:
        return opts.strategy
    return "priority" if opts.providers else cfg.defaults.strategy


def deadline(cfg: Config, opts: Options) -> float:
    """Seconds for the whole call, retries and fallbacks included."""
    return _first(opts.deadline, cfg.defaults.deadline)


def timeouts(
    cfg: Config, opts: Options, p: ProviderConfig, *, stream: bool, deadline_at: float
) -> Timeouts:
    """The bounds on one attempt at provider p (deadline_at: monotonic time)."""
    d = cfg.defaults
    attempt = _first(opts.timeout, p.timeout, d.timeout)
    first_byte = _first(d.first_byte_timeout, attempt) if stream else attempt
    return Timeouts(
        connect=_first(p.connect_timeout, d.connect_timeout),
        first_byte=min(first_byte, attempt),
        stall=_first(p.stall_timeout, d.stall_timeout),
        attempt=attempt,
        deadline=deadline_at,
    )


def rate_limits(rpm: float | None, tpm: float | None, p: ProviderConfig) -> tuple:
    """(requests, tokens) per minute for p: the flag, else the provider's setting."""
    return _first(rpm, p.rpm), _first(tpm, p.tpm)


def retry_policy(cfg: Config, opts: Options, p: ProviderConfig, *, probe: bool) -> Policy:
    """A probe (everything is cooling down) gets one attempt, no retries."""
    d = cfg.defaults
    retries = _first(opts.retries, p.retries, d.retries)
    return Policy(
        retries=0 if probe else max(0, retries),
        base=d.backoff,
        max_backoff=d.max_backoff,
        max_retry_after=d.max_retry_after,
    )
