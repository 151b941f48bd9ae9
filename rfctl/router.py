"""Choosing providers and walking them: candidates, order, retry, fallback.

DESIGN.md "Routing" is the contract. One call goes through two stages.

plan(): which providers may serve this request, in which order, and why the
others may not. Starting from the pinned chain (-p, in the order given) or
every enabled provider (config priority order):

- model (-m): resolved through the registry (ids, aliases, dated snapshots).
  A provider serves it when its configured `model`/`models` name the same
  registry entry (or the same string); a cloud provider (anthropic, openai)
  also serves every registry model of its own vendor, and names the registry
  does not know when they look like its vendor's ("claude-...", "gpt-...",
  "o3..."); a local server with no `models` list in the config may serve any
  local or unknown model: it is kept (we do not ask every server for its
  list on every call, which would cost a round trip per server; a server
  that lacks the model answers 404 at once and the walk moves on). A pinned
  local provider is always kept: the user named it. Without -m each provider
  uses its configured model.
- --capability: the model's registry entry must list it; a model the
  registry does not know is dropped (its capabilities are unknown).
- context window: prompt tokens + max_tokens must fit the model's window.
  The prompt's UTF-8 byte count bounds its tokens from above, so a prompt that
  fits by bytes needs no tokenizer; only a prompt that does not is counted
  with tiktoken. When every candidate is too small: exit 65.
- API key missing: dropped (a pinned provider without its key is a config
  error, exit 78, raised before anything is sent).
- order: priority (config order, or the -p order), round-robin (a cursor in
  the state file moves on by one per call), cost (cheapest estimated cost of
  this request: input tokens plus the whole max_tokens at registry prices;
  local kinds cost 0; unknown prices last), latency (p50 of recent ok
  attempts from the usage log's tail; providers with no data come after
  those with data, in priority order). An explicit -p chain keeps its order
  unless --strategy is given on the command line.
- cooldown: a provider cooling down (state file) is skipped without being
  contacted. When every candidate is cooling, the one whose cooldown ends
  first gets one probing attempt (no retries) instead of failing outright.
- budgets (--max-cost, [budget] daily_usd): the worst-case estimate of the
  first choice must fit (the daily budget: today's spend from the log plus
  the estimate). If it does not, rfctl refuses with exit 77 before sending,
  unless the strategy is `cost` or a free local provider is in the chain: then
  it routes to the candidates that fit. A fallback that would not fit is
  never tried. A paid model with no known price cannot be checked and is
  treated as not fitting.
- --no-fallback keeps only the first candidate.

run(): walk the plan. Each candidate gets attempts under the tenacity policy
of rfctl/retry.py within the time left before the deadline. Then:

- connection refused, connect timeouts and a server that never answered
  (first-byte timeout) move on at once and start a cooldown; so do repeated
  5xx once retries are spent, and a Retry-After beyond max_retry_after (the
  cooldown lasts as long as the server asked). Cooldowns only ever extend;
  a success clears the provider's cooldown.
- a provider that accepted the request and then went silent or broke its
  stream is not asked again: the walk falls over to the next candidate. When
  output is buffered this is invisible to the reader: the answer is written
  once, complete, by whichever candidate finished it.
- live output: text goes to on_text as it arrives; a failure after some text
  was written ends the call with an error naming the provider and how many
  characters were written, never a second answer.
- context too long (400): skip to candidates with a larger (or unknown)
  window, never the same model again.
- content-policy refusal: the call ends with the provider's reason (exit 69).
  rfctl does not shop a refused prompt around other providers.
- exit codes: 65 when every failure was a context overflow, 75 when every
  failure was transient (timeouts, 429, 5xx, connection resets, deadline),
  69 otherwise — a refused connection counts as not transient here, as
  DESIGN.md lists it, even though the walk treats it as a reason to move on.

Every attempt, failed ones included, is one usage-log record (request_id
shared, attempt numbered across the walk, the model actually used). A failed
attempt is logged with cost 0 and no token counts: adapters do not yet carry
usage seen before a failure (a stream cut after billed output undercounts).
An attempt still in flight when the user interrupts a batch (Ctrl-C) is not
logged and starts no cooldown: its timeout is the user's doing.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace

from rfctl.config import Config, Paths, ProviderConfig
from rfctl.errors import ConfigError, Exit, RfctlError
from rfctl.providers.base import OnText, ProviderError, Request, Result, Timeouts

# Chat templates add a few tokens per message around the text.
TEMPLATE_TOKENS = 16
# Below this many bytes the byte bound is used as the estimate for ordering by
# cost: the output tokens dominate, and a tokenizer would cost more than it saves.
EXACT_FOR_COST_ABOVE = 4096
# Seams for the unit tests (fake clocks).
monotonic = time.monotonic
sleep = time.sleep


@dataclass
class Options:
    """How one generate call may be served (from flags over config defaults)."""

    providers: list[str] = field(default_factory=list)  # -p, in order: an explicit chain
    model: str | None = None  # -m
    strategy: str = "priority"
    capability: str | None = None
    timeout: float = 60.0  # one attempt
    deadline: float = 300.0  # the whole call
    retries: int = 2
    fallback: bool = True
    live: bool = False  # text goes straight to the user as it arrives
    max_cost: float | None = None
    log: bool = True
    verbose: int = 0
    # Which values came from the command line: those beat per-provider config.
    timeout_explicit: bool = False
    retries_explicit: bool = False
    strategy_explicit: bool = False
    json: bool = False  # --dry-run prints the plan as JSON
    # Set when the user interrupts a batch (Ctrl-C): attempts still in flight
    # on worker threads then end without logging, cooldowns or state writes.
    cancel: threading.Event | None = None


@dataclass
class Attempt:
    provider: str
    kind: str
    model: str | None
    status: str  # ok | error
    latency_ms: float
    attempt: int = 1
    error: str | None = None
    http_status: int | None = None
    wait_ms: float = 0.0  # backoff slept before this attempt
    ttft_ms: float | None = None
    cost_usd: float | None = 0.0

    def as_json(self) -> dict:
        out = {
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
        }
        if self.error:
            out["error"] = self.error
        if self.wait_ms:
            out["wait_ms"] = round(self.wait_ms, 1)
        return out


@dataclass
class Outcome:
    request_id: str
    result: Result | None = None
    provider: ProviderConfig | None = None
    attempts: list[Attempt] = field(default_factory=list)
    error: RfctlError | None = None
    cost_usd: float | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None


@dataclass
class Candidate:
    provider: ProviderConfig
    model: str | None  # the name sent (None: the adapter's own choice)
    entry: object | None = None  # registry.ModelEntry
    kept: bool = True
    why: str = ""  # why kept, or why dropped
    est_cost: float | None = None  # worst case, USD
    free: bool = False
    cooling: float = 0.0  # seconds of cooldown left
    probe: bool = False  # one attempt only: everything is cooling

    @property
    def name(self) -> str:
        return self.provider.name

    def as_json(self) -> dict:
        e = self.entry
        out = {
            "provider": self.name,
            "kind": self.provider.kind,
            "model": self.model,
            "kept": self.kept,
            "why": self.why,
            "context": getattr(e, "context", None),
            "estimated_cost_usd": None if self.est_cost is None else round(self.est_cost, 6),
        }
        if self.cooling:
            out["cooldown_s"] = round(self.cooling, 1)
        if self.probe:
            out["probe"] = True
        return out


@dataclass
class Plan:
    candidates: list[Candidate]  # to try, in order
    dropped: list[Candidate]
    strategy: str
    tokens_bound: int
    tokens: int | None = None  # tiktoken estimate, when one was needed
    max_tokens: int | None = None
    error: RfctlError | None = None  # nothing can be tried
    spent_today: float | None = None
    # Shared with the walk: one registry load and one tokenization per call.
    reg: _Lazy | None = None
    toks: PromptTokens | None = None


def new_request_id() -> str:
    return os.urandom(8).hex()


_warned: set[str] = set()


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        try:
            print(f"rfctl: warning: {text}", file=sys.stderr)
        except (OSError, ValueError):
            pass


def _say(opts: Options, text: str) -> None:
    if opts.verbose:
        try:
            print(f"rfctl: {text}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass


# ---------------------------------------------------------------- tokens


class PromptTokens:
    """The prompt's size in tokens: a free upper bound, an estimate on demand."""

    def __init__(self, req: Request):
        self.text = f"{req.system}\n{req.prompt}" if req.system else req.prompt
        from rfctl.tokens import upper_bound

        self.bound = upper_bound(self.text) + TEMPLATE_TOKENS
        self._exact: dict[str, int] = {}

    def exact(self, model: str | None) -> int:
        from rfctl import tokens

        enc = tokens.encoding_name(model)
        if enc not in self._exact:
            self._exact[enc] = tokens.estimate(self.text, model) + TEMPLATE_TOKENS
        return self._exact[enc]

    def best_known(self) -> int | None:
        return min(self._exact.values()) if self._exact else None


# ---------------------------------------------------------------- plan


class _Lazy:
    """The registry, loaded on first use (the stub path may not need it)."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self._reg = None

    def __call__(self):
        if self._reg is None:
            from rfctl import registry

            self._reg = registry.load(self.paths)
        return self._reg


_OPENAI_PREFIXES = ("gpt-", "gpt4", "o1", "o3", "o4", "o5", "chatgpt", "codex", "text-", "davinci")


def _cloud_vendor_of_name(name: str) -> str | None:
    low = name.lower()
    if low.startswith("claude"):
        return "anthropic"
    if low.startswith(_OPENAI_PREFIXES):
        return "openai"
    return None


def _vendor(p: ProviderConfig) -> str:
    return p.kind if p.kind in ("anthropic", "openai") else "local"


def _choose_model(p: ProviderConfig, want: str | None, reg, pinned: bool) -> Candidate:
    """Which model this provider would use for the request, or why it cannot."""
    if want is None:
        m = p.model or (p.models[0] if p.models else None)
        # The stub echoes whatever it is asked: no registry entry to look up.
        entry = reg().resolve(m) if m and p.kind != "stub" else None
        return Candidate(p, m, entry, why="configured model" if m else "server's default model")
    want_entry = reg().resolve(want)
    wl = want.lower()
    vendor = _vendor(p)
    # For cloud APIs a nickname ("sonnet") goes out as the API id, a dated
    # snapshot as typed; a local server gets the spelling its config uses.
    cloud_name = want
    if want_entry is not None and not wl.startswith(want_entry.id.lower()):
        cloud_name = want_entry.id
    for m in [x for x in [p.model, *p.models] if x]:
        if m.lower() == wl or (want_entry is not None and reg().resolve(m) is want_entry):
            send = m if vendor == "local" or m.lower() == wl else cloud_name
            return Candidate(p, send, want_entry or reg().resolve(m), why=f"configured for {m}")
    if vendor != "local":
        if want_entry is not None and want_entry.vendor == vendor:
            return Candidate(p, cloud_name, want_entry, why=f"{vendor} model")
        if want_entry is None and _cloud_vendor_of_name(want) == vendor:
            return Candidate(p, want, None, why=f"looks like a {vendor} model (not in registry)")
        return Candidate(p, want, want_entry, kept=False, why=f"does not serve {want}")
    local_model = want_entry is None or want_entry.vendor == "local"
    if pinned or (local_model and not p.models):
        why = "pinned" if pinned else "may serve it (no models list in config)"
        return Candidate(p, want, want_entry, why=why)
    return Candidate(p, want, want_entry, kept=False, why=f"does not serve {want}")


def _rotate(items: list, n: int) -> list:
    if not items:
        return items
    k = n % len(items)
    return items[k:] + items[:k]


def _order(
    cands: list[Candidate],
    strategy: str,
    paths: Paths,
    toks: PromptTokens,
    max_tokens: int | None,
    dry: bool,
) -> list[Candidate]:
    if strategy == "round-robin":
        from rfctl import state

        cursor = state.peek_cursor(paths.state) if dry else state.next_cursor(paths.state)
        return _rotate(cands, cursor)
    if strategy == "cost":
        for c in cands:
            if c.est_cost is None:
                c.est_cost = _estimate_cost(
                    c, toks, max_tokens, exact=toks.bound > EXACT_FOR_COST_ABOVE
                )
        index = {id(c): i for i, c in enumerate(cands)}
        return sorted(cands, key=lambda c: (c.est_cost is None, c.est_cost or 0.0, index[id(c)]))
    if strategy == "latency":
        from rfctl import usagelog

        p50 = usagelog.recent_latency_p50(paths.usage_log, [c.name for c in cands])
        for c in cands:
            if c.name in p50:
                c.why += f"; p50 {p50[c.name]:.0f} ms"
        index = {id(c): i for i, c in enumerate(cands)}
        return sorted(cands, key=lambda c: (c.name not in p50, p50.get(c.name, 0.0), index[id(c)]))
    return cands


def _prices(c: Candidate):
    return getattr(c.entry, "prices", None)


def _estimate_cost(
    c: Candidate, toks: PromptTokens, max_tokens: int | None, exact: bool
) -> float | None:
    from rfctl.cost import estimate_cost

    if c.free:
        return 0.0
    n = toks.exact(c.model) if exact else toks.bound
    out = max_tokens if max_tokens is not None else (getattr(c.entry, "max_output", None) or 0)
    return estimate_cost(n, out, _prices(c), free=False)


def plan(cfg: Config, paths: Paths, req: Request, opts: Options, *, dry: bool = False) -> Plan:
    """The ordered candidates for this request and why the others were dropped.

    dry: only look (--dry-run): the round-robin cursor is read, not moved."""
    from rfctl import state

    reg = _Lazy(paths)
    toks = PromptTokens(req)
    max_tokens = req.max_tokens
    strategy = opts.strategy
    pinned = bool(opts.providers)
    if pinned:
        chain = [cfg.provider(name) for name in opts.providers]
        for p in chain:
            if p.key_required and not p.key():
                raise ConfigError(f"provider {p.name!r} needs an API key: set {p.api_key_env}")
        if not opts.strategy_explicit:
            strategy = "priority"  # an explicit chain keeps its order
    else:
        chain = cfg.enabled()
    pl = Plan([], [], strategy, toks.bound, max_tokens=max_tokens, reg=reg, toks=toks)

    def drop(c: Candidate, why: str) -> None:
        c.kept, c.why = False, why
        pl.dropped.append(c)

    kept: list[Candidate] = []
    context_drops = 0
    for p in chain:
        if p.key_required and not p.key():
            drop(Candidate(p, p.model), f"no API key (set {p.api_key_env})")
            continue
        c = _choose_model(p, opts.model, reg, pinned)
        if not c.kept:
            drop(c, c.why)
            continue
        c.free = p.local or bool(getattr(c.entry, "free", False))
        if opts.capability:
            if c.entry is None:
                drop(c, f"capabilities unknown: {c.model or 'its model'} is not in the registry")
                continue
            if not c.entry.has(opts.capability):
                drop(c, f"{c.entry.id} lacks capability {opts.capability}")
                continue
        ctx = getattr(c.entry, "context", None)
        if ctx:
            out = max_tokens or 0
            if toks.bound + out > ctx and toks.exact(c.model) + out > ctx:
                context_drops += 1
                drop(
                    c,
                    f"prompt ~{toks.exact(c.model)} tokens + max_tokens {out} "
                    f"exceeds its context window ({ctx})",
                )
                continue
        kept.append(c)

    if not kept:
        if context_drops:
            n = toks.best_known() or toks.bound
            pl.error = RfctlError(
                f"the prompt (~{n} tokens) plus max_tokens {max_tokens} exceeds the context "
                f"window of every candidate",
                Exit.DATAERR,
            )
        else:
            pl.error = RfctlError(_nothing_left(opts, pl.dropped), Exit.UNAVAILABLE)
        return pl

    kept = _order(kept, strategy, paths, toks, max_tokens, dry)

    # Cooldowns: skip without contacting; if everything cools, probe the soonest.
    cools = state.cooldown_entries(paths.state)
    ready = []
    for c in kept:
        cd = cools.get(c.name)
        if cd is None:
            ready.append(c)
            continue
        c.cooling = cd.left()
        drop(c, f"cooling down, {c.cooling:.1f} s left ({cd.reason})")
    if not ready:
        first = min(kept, key=lambda c: c.cooling)
        pl.dropped.remove(first)
        first.kept, first.probe = True, True
        first.why = (
            f"probe: every candidate is cooling down; its cooldown ends first "
            f"({first.cooling:.1f} s left)"
        )
        ready = [first]

    ready = _apply_budget(cfg, paths, opts, pl, ready, toks, max_tokens, drop)
    if pl.error is not None:
        return pl
    if not opts.fallback:
        for c in ready[1:]:
            drop(c, "--no-fallback")
        ready = ready[:1]
    pl.candidates = ready
    pl.tokens = toks.best_known()
    return pl


def _nothing_left(opts: Options, dropped: list[Candidate]) -> str:
    if not dropped:
        return "no provider is configured (configure one, or set an API key)"
    reasons = "; ".join(f"{c.name}: {c.why}" for c in dropped[:6])
    what = f"model {opts.model}" if opts.model else "this request"
    return f"no provider can serve {what} ({reasons})"


def _apply_budget(
    cfg, paths, opts, pl: Plan, ready: list[Candidate], toks: PromptTokens, max_tokens, drop
) -> list[Candidate]:
    limits: list[tuple[str, float]] = []
    if opts.max_cost is not None:
        limits.append(("--max-cost", opts.max_cost))
    if cfg.budget_daily_usd is not None and not all(c.free for c in ready):
        from rfctl import usagelog

        pl.spent_today = usagelog.spent_today(paths.usage_log)
        limits.append(("daily budget", cfg.budget_daily_usd - pl.spent_today))
    if not limits:
        return ready
    label, room = min(limits, key=lambda x: x[1])

    def fits(c: Candidate) -> bool:
        if c.free:
            c.est_cost = 0.0
            return True
        # The byte bound first; count tokens only when the bound does not fit.
        c.est_cost = _estimate_cost(c, toks, max_tokens, exact=False)
        if c.est_cost is not None and c.est_cost > room:
            c.est_cost = _estimate_cost(c, toks, max_tokens, exact=True)
        return c.est_cost is not None and c.est_cost <= room

    verdict = [fits(c) for c in ready]
    if verdict[0] or pl.strategy == "cost" or any(c.free for c in ready):
        ok = [c for c, v in zip(ready, verdict, strict=True) if v]
    else:
        ok = []
    for c, v in zip(ready, verdict, strict=True):
        if not v:
            drop(c, _over(c, label, room, pl))
    if not ok:
        first = ready[0]
        pl.error = RfctlError(
            f"refused before sending: {first.name} ({first.model}): "
            f"{_over(first, label, room, pl)}",
            Exit.NOPERM,
        )
    return ok


def _over(c: Candidate, label: str, room: float, pl: Plan) -> str:
    if c.est_cost is None:
        return (
            f"price of {c.model or 'its model'} unknown, so {label} cannot be checked "
            f"(add prices in models.yaml)"
        )
    if label == "daily budget":
        return (
            f"estimated ${c.est_cost:.4f} would exceed the daily budget "
            f"(${pl.spent_today or 0:.4f} spent today, ${max(room, 0):.4f} left)"
        )
    return f"estimated ${c.est_cost:.4f} exceeds --max-cost ${room:.4f}"


# ---------------------------------------------------------------- run


class _Cut(Exception):
    """A failure after live text was written: the call ends here."""

    def __init__(self, error: ProviderError, chars: int):
        super().__init__(error.short())
        self.error = error
        self.chars = chars


class _Walk:
    """One generate call walking its plan."""

    def __init__(
        self,
        cfg: Config,
        paths: Paths,
        req: Request,
        opts: Options,
        on_text: OnText | None,
        outcome: Outcome,
        deadline: float,
        pl: Plan,
    ):
        self.cfg, self.paths, self.req, self.opts = cfg, paths, req, opts
        self.on_text = on_text
        self.outcome = outcome
        self.deadline = deadline
        self.chars = 0  # live characters written so far
        self.errors: list[tuple[str, ProviderError]] = []
        self.pending_wait = 0.0
        self.output_error: BaseException | None = None
        self._reg = pl.reg or _Lazy(paths)
        self.toks = pl.toks or PromptTokens(req)

    # ------------------------------------------------------------ one attempt

    def _emit(self, piece: str) -> None:
        if self.on_text is not None and piece:
            try:
                self.on_text(piece)
            except BaseException as e:
                # Our own output failed (a closed pipe: `rfctl ... | head -1`).
                # That is no reason to ask another provider: let it through.
                self.output_error = e
                raise
            self.chars += len(piece)

    def timeouts(self, p: ProviderConfig, stream: bool) -> Timeouts:
        d = self.cfg.defaults
        attempt = (
            self.opts.timeout
            if self.opts.timeout_explicit
            else _first(p.timeout, self.opts.timeout)
        )
        first_byte = _first(d.first_byte_timeout, attempt) if stream else attempt
        return Timeouts(
            connect=_first(p.connect_timeout, d.connect_timeout),
            first_byte=min(first_byte, attempt),
            stall=_first(p.stall_timeout, d.stall_timeout),
            attempt=attempt,
            deadline=self.deadline,
        )

    def attempt(self, c: Candidate, adapter, r: Request) -> Result:
        _check_cancel(self.opts)
        n = len(self.outcome.attempts) + 1
        wait, self.pending_wait = self.pending_wait, 0.0
        t = self.timeouts(c.provider, r.stream)
        t0 = monotonic()
        try:
            result = adapter.generate(r, t, self._emit if self.opts.live else None)
        except ProviderError as e:
            _check_cancel(self.opts)
            self._record_failure(c, r, e, n, wait, t0)
            if self.chars:
                raise _Cut(e, self.chars) from None
            raise
        except Exception as e:  # an adapter bug must not become a traceback
            if e is self.output_error:
                raise
            _check_cancel(self.opts)
            err = ProviderError("internal", f"{type(e).__name__}: {e}", transient=False)
            self._record_failure(c, r, err, n, wait, t0)
            if self.chars:
                raise _Cut(err, self.chars) from None
            raise err from None
        _check_cancel(self.opts)
        self._record_success(c, r, result, n, wait)
        return result

    def _record_failure(
        self, c: Candidate, r: Request, e: ProviderError, n: int, wait: float, t0: float
    ) -> None:
        latency = (monotonic() - t0) * 1000.0
        a = Attempt(
            c.name,
            c.provider.kind,
            r.model or c.provider.model,
            "error",
            latency,
            attempt=n,
            error=e.short(),
            http_status=e.status,
            wait_ms=wait * 1000.0,
            cost_usd=0.0,
        )
        self.outcome.attempts.append(a)
        self._log(a, r.stream, finish="error")

    def _record_success(
        self, c: Candidate, r: Request, result: Result, n: int, wait: float
    ) -> None:
        from rfctl.cost import cost_usd, warn_unpriced

        model = result.model or r.model or c.provider.model
        u = result.usage
        if u.input_tokens is None or u.output_tokens is None:
            # The provider reported nothing (e.g. a stream without usage): estimate.
            from rfctl import tokens

            if u.input_tokens is None:
                u.input_tokens = self.toks.exact(model)
            if u.output_tokens is None:
                u.output_tokens = tokens.estimate(result.text, model)
            u.reported = False
        entry = self._reg().resolve(model) if model and not c.provider.local else c.entry
        if entry is None:
            entry = c.entry
        free = c.provider.local or bool(getattr(entry, "free", False))
        cost = cost_usd(u, getattr(entry, "prices", None), free=free)
        if cost is None:
            warn_unpriced(c.name, model)
        a = Attempt(
            c.name,
            c.provider.kind,
            model,
            "ok",
            result.latency_ms,
            attempt=n,
            http_status=result.http_status,
            wait_ms=wait * 1000.0,
            ttft_ms=result.ttft_ms,
            cost_usd=cost,
        )
        self.outcome.attempts.append(a)
        self.outcome.cost_usd = cost
        self._log(a, result.stream, usage=u, finish=result.finish_reason)

    def _log(self, a: Attempt, stream: bool, usage=None, finish: str | None = None) -> None:
        if not self.opts.log:
            return
        from rfctl import usagelog

        try:
            rec = usagelog.UsageRecord(
                ts=usagelog.now_iso(),
                request_id=self.outcome.request_id,
                provider=a.provider,
                kind=a.kind,
                model=a.model,
                status=a.status,
                error=a.error,
                http_status=a.http_status,
                attempt=a.attempt,
                input_tokens=getattr(usage, "input_tokens", None),
                output_tokens=getattr(usage, "output_tokens", None),
                cached_input_tokens=getattr(usage, "cached_input_tokens", None),
                tokens_source=usage.source if usage is not None else None,
                latency_ms=a.latency_ms,
                ttft_ms=a.ttft_ms,
                cost_usd=a.cost_usd,
                stream=stream,
                finish_reason=finish,
            )
        except Exception as e:  # the ledger must never cost the user the answer
            _warn_once(f"cannot build a usage record: {type(e).__name__}: {e}")
            return
        usagelog.append(self.paths.usage_log, rec)

    # ------------------------------------------------------------ one candidate

    def policy(self, c: Candidate):
        from rfctl.retry import Policy

        d, p = self.cfg.defaults, c.provider
        retries = (
            self.opts.retries
            if self.opts.retries_explicit
            else (p.retries if p.retries is not None else self.opts.retries)
        )
        return Policy(
            retries=0 if c.probe else max(0, retries),
            base=d.backoff,
            max_backoff=d.max_backoff,
            max_retry_after=d.max_retry_after,
        )

    def candidate(self, c: Candidate, pol) -> Result:
        """Attempts on one provider under the retry policy; raises the last failure."""
        from rfctl.providers import make_adapter
        from rfctl.retry import retrying

        adapter = _adapter(c.provider, make_adapter)
        r = replace(self.req, model=c.model, stream=True)  # TTFT and stall bounds need a stream

        def before_sleep(rs) -> None:
            wait = rs.upcoming_sleep if rs.next_action is None else rs.next_action.sleep
            self.pending_wait = wait
            self._trace(self.outcome.attempts[-1], f"retry in {wait:.2f} s")

        for attempt in retrying(
            pol, deadline=self.deadline, clock=monotonic, sleep=sleep, before_sleep=before_sleep
        ):
            with attempt:
                return self.attempt(c, adapter, r)
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def _trace(self, a: Attempt, then: str = "") -> None:
        if not self.opts.verbose:
            return
        what = "ok" if a.status == "ok" else f"error {a.error}"
        extra = f", ttft {a.ttft_ms:.0f} ms" if a.ttft_ms is not None else ""
        line = f"attempt {a.attempt}: {a.provider} {a.model or '-'}: {what} ({a.latency_ms:.0f} ms{extra})"
        _say(self.opts, f"{line}; {then}" if then else line)

    # ------------------------------------------------------------ the walk

    def run(self, pl: Plan) -> None:
        from rfctl import retry, state

        too_small: list[tuple[object, str | None, int | None]] = []  # context overflows
        skipped_deadline = []
        for i, c in enumerate(pl.candidates):
            if self._overflowed(c, too_small):
                _say(
                    self.opts,
                    f"skip {c.name}: its context window is no larger than one "
                    f"that already overflowed",
                )
                continue
            if monotonic() >= self.deadline:
                skipped_deadline = [x.name for x in pl.candidates[i:]]
                break
            if c.probe:
                _say(self.opts, f"probe {c.name}: every candidate is cooling down")
            pol = self.policy(c)
            before = len(self.outcome.attempts)
            try:
                result = self.candidate(c, pol)
            except _Cut as cut:
                self.errors.append((c.name, cut.error))
                self._trace(self.outcome.attempts[-1], "answer cut: stop")
                self._cut(c, cut)
                return
            except ProviderError as e:
                self.errors.append((c.name, e))
                mine = self.outcome.attempts[before:]
                cooled = self._maybe_cool(c, e, mine, pol, state, retry)
                nxt = next((x.name for x in pl.candidates[i + 1 :]), None)
                if e.kind == "refusal":
                    step = "refused: stop"
                else:
                    step = f"next: {nxt}" if nxt else "no more candidates"
                self._trace(self.outcome.attempts[-1], "; ".join(x for x in (cooled, step) if x))
                if e.kind == "refusal":
                    self.outcome.error = RfctlError(
                        f"{c.name} refused: {e.message}", Exit.UNAVAILABLE
                    )
                    return
                if e.kind == "context":
                    too_small.append(
                        (c.entry, (c.model or "").lower(), getattr(c.entry, "context", None))
                    )
                continue
            # Success.
            self._trace(self.outcome.attempts[-1])
            self.outcome.result, self.outcome.provider = result, c.provider
            # A success ends any cooldown (no write when there is none).
            state.clear_cooldown(self.paths.state, c.name)
            return
        self.outcome.error = self._final_error(skipped_deadline)

    def _overflowed(self, c: Candidate, too_small) -> bool:
        for entry, name, ctx in too_small:
            if entry is not None and c.entry is entry:
                return True
            if name and (c.model or "").lower() == name:
                return True
            mine = getattr(c.entry, "context", None)
            if ctx is not None and mine is not None and mine <= ctx:
                return True
        return False

    def _maybe_cool(
        self, c: Candidate, e: ProviderError, mine: list[Attempt], pol, state, retry
    ) -> str:
        """Start a cooldown when this provider should be skipped for a while."""
        d = self.cfg.defaults
        out_of_time = monotonic() >= self.deadline - 0.01
        seconds, reason = None, None
        if retry.wanted_too_long(e, pol):
            seconds, reason = e.retry_after, f"asked to retry after {e.retry_after:g} s"
        elif e.kind == "connect":
            seconds, reason = d.cooldown, e.short()
        elif e.kind == "timeout" and not e.accepted and not out_of_time:
            seconds, reason = d.cooldown, "no response: " + e.message
        elif c.probe and e.transient:
            seconds, reason = d.cooldown, e.short()
        else:
            tail = 0
            for a in reversed(mine):
                if a.http_status is not None and a.http_status >= 500:
                    tail += 1
                else:
                    break
            if tail >= 2:
                seconds, reason = d.cooldown, f"{tail} server errors in a row: {e.short()}"
        if seconds is None or seconds <= 0:
            return ""
        left = state.start_cooldown(self.paths.state, c.name, seconds, reason)
        return f"cooldown {left:.3g} s"

    def _cut(self, c: Candidate, cut: _Cut) -> None:
        e = cut.error
        code = Exit.TEMPFAIL if e.transient else Exit.UNAVAILABLE
        self.outcome.error = RfctlError(
            f"answer cut after {cut.chars} characters from {c.name}: {e.short()}", code
        )

    def _final_error(self, skipped: list[str]) -> RfctlError:
        from rfctl.retry import is_refused

        errs = [e for _, e in self.errors]
        if errs and all(e.kind == "context" for e in errs) and not skipped:
            code = Exit.DATAERR
        elif all(e.transient and not is_refused(e) for e in errs):
            # DESIGN.md lists a refused connection among the failures that make
            # the call 69: nothing listens there, so "retry later" is no advice.
            code = Exit.TEMPFAIL
        else:
            code = Exit.UNAVAILABLE
        # One line: the last failure of each provider, in the order tried.
        last: dict[str, ProviderError] = {}
        for name, e in self.errors:
            last[name] = e
        parts = [f"{name}: {e.short()}" for name, e in last.items()]
        if skipped:
            parts.append(
                f"deadline of {self.opts.deadline:g} s reached before trying {', '.join(skipped)}"
            )
        if not parts:
            parts.append(f"deadline of {self.opts.deadline:g} s reached")
        if len(last) > 1 or skipped:
            return RfctlError("no provider could answer: " + "; ".join(parts), code)
        return RfctlError(parts[0], code)


_adapters = threading.local()


def _adapter(p: ProviderConfig, make):
    """One adapter (and so one requests.Session and its kept-alive connections)
    per provider per thread: --jsonl lines and retries reuse connections."""
    cache = getattr(_adapters, "by_provider", None)
    if cache is None:
        cache = _adapters.by_provider = {}
    key = (make, p.name, p.kind, p.base_url, p.key())
    adapter = cache.get(key)
    if adapter is None:
        adapter = cache[key] = make(p)
    return adapter


def _check_cancel(opts: Options) -> None:
    """The user interrupted a batch while this attempt was in flight: what it
    saw (a timeout, a reset, even an answer) is no news about the provider,
    so nothing is logged, no cooldown starts and no state is written."""
    if opts.cancel is not None and opts.cancel.is_set():
        raise KeyboardInterrupt


def _first(value, default):
    """A per-provider setting when it is set (0 included), else the default."""
    return default if value is None else value


def run(
    cfg: Config, paths: Paths, req: Request, opts: Options, on_text: OnText | None = None
) -> Outcome:
    """Serve one request: plan, then walk the candidates. Never raises for a
    provider failure (Outcome.error carries it); raises ConfigError for a
    configuration problem found before anything is sent."""
    _check_cancel(opts)  # before plan(): round-robin moves a cursor in the state file
    outcome = Outcome(new_request_id())
    start = monotonic()
    pl = plan(cfg, paths, req, opts)
    for c in pl.dropped:
        _say(opts, f"skip {c.name}: {c.why}")
    if pl.error is not None:
        outcome.error = pl.error
        return outcome
    walk = _Walk(cfg, paths, req, opts, on_text, outcome, start + opts.deadline, pl)
    walk.run(pl)
    return outcome


# ---------------------------------------------------------------- dry run


def dry_run(cfg: Config, paths: Paths, req: Request, opts: Options) -> int:
    """Print the plan and estimates; send nothing. Exit code as a real call
    would have before sending (65, 69, 77), else 0."""
    import json

    pl = plan(cfg, paths, req, opts, dry=True)
    toks = pl.toks
    if pl.tokens is None and toks.bound > EXACT_FOR_COST_ABOVE // 4:
        pl.tokens = toks.exact(pl.candidates[0].model if pl.candidates else opts.model)
    shown = pl.candidates + pl.dropped
    for c in shown:
        if c.est_cost is None and (c.free or _prices(c) is not None):
            c.est_cost = _estimate_cost(c, toks, pl.max_tokens, exact=pl.tokens is not None)
    if opts.json:
        out = {
            "strategy": pl.strategy,
            "tokens": {
                "prompt_upper_bound": pl.tokens_bound,
                "prompt_estimate": pl.tokens,
                "max_tokens": pl.max_tokens,
            },
            "candidates": [c.as_json() for c in pl.candidates],
            "dropped": [c.as_json() for c in pl.dropped],
        }
        if pl.spent_today is not None:
            out["spent_today_usd"] = round(pl.spent_today, 6)
        if pl.error is not None:
            out["error"] = {"code": int(pl.error.code), "message": pl.error.message}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        est = (
            f"~{pl.tokens} tokens (tiktoken)" if pl.tokens else f"at most {pl.tokens_bound} tokens"
        )
        lines = [f"prompt\t{est}; max_tokens {pl.max_tokens}; strategy {pl.strategy}"]
        for i, c in enumerate(pl.candidates, 1):
            lines.append(_plan_line(str(i), c, "try"))
        for c in pl.dropped:
            lines.append(_plan_line("-", c, "skip"))
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    if pl.error is not None:
        raise pl.error
    return 0


def _plan_line(rank: str, c: Candidate, verdict: str) -> str:
    if c.free:
        cost = "free"
    elif c.est_cost is not None:
        cost = f"<= ${c.est_cost:.4f}"
    else:
        cost = "price unknown" if c.kept else "-"
    ctx = getattr(c.entry, "context", None)
    return "\t".join(
        [
            rank,
            c.name,
            c.model or "(server default)",
            f"ctx {ctx}" if ctx else "ctx ?",
            cost,
            f"{verdict}: {c.why}",
        ]
    )
