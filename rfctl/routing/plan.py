"""Which providers may serve this request, in which order, and why the
others may not. Starting from the pinned chain (-p, in the order given) or
every enabled provider (config priority order):

- model (-m): resolved through the registry (ids, aliases, dated snapshots).
  A provider serves it when its configured `model`/`models` name the same
  registry entry (or the same string); a cloud provider (anthropic, openai)
  also serves every registry model of its own vendor, and names the registry
  does not know when they look like its vendor's ("claude-...", "gpt-...",
  "o3..."); a local server with no `models` list in the config may serve any
  local or unknown model: it is kept (asking every server for its list on
  every call would cost a round trip per server; a server that lacks the
  model answers 404 at once and the walk moves on). A pinned local provider
  is always kept: the user named it. Without -m each provider uses its
  configured model.
- --capability: the model's registry entry must list it; a model the
  registry does not know is dropped (its capabilities are unknown).
- context window: prompt tokens + max_tokens must fit the model's window.
  The prompt's UTF-8 byte count bounds its tokens from above, so a prompt that
  fits by bytes needs no tokenizer; only a prompt that does not is counted
  with tiktoken. When every candidate is too small: exit 65.
- attachments, reasoning, --schema: rfctl.routing.needs (capabilities
  vision, pdf, reasoning; per-provider size limits, exit 65 when no
  candidate can take the files; image tokens count toward the window).
- API key missing: dropped (a pinned provider without its key is a config
  error, exit 78, raised before anything is sent).
- order: rfctl.routing.strategies.
- cooldown: a provider cooling down (the router state: the file, or Redis) is
  skipped without being contacted. One whose cooldown ended with its failure
  streak still remembered is on trial: one attempt, no retries (a failure
  cools it again for twice as long). When every candidate is cooling, the one
  whose cooldown ends first gets one probing attempt (no retries) instead of
  failing outright.
- budgets: rfctl.routing.budget.
- --no-fallback keeps only the first candidate.
"""

from __future__ import annotations

from rfctl import settings
from rfctl.config import Config, Paths, ProviderConfig
from rfctl.errors import ConfigError, Exit, RfctlError
from rfctl.providers.base import Request, input_text
from rfctl.providers.thinking import output_limit
from rfctl.routing.candidates import EXACT_FOR_COST_ABOVE, Candidate, LazyRegistry, Plan
from rfctl.settings import Options
from rfctl.tokens import PromptTokens

_OPENAI_PREFIXES = ("gpt-", "gpt4", "o1", "o3", "o4", "o5", "chatgpt", "codex", "text-", "davinci")


def _cloud_vendor_of_name(name: str) -> str | None:
    low = name.lower()
    if low.startswith("claude"):
        return "anthropic"
    if low.startswith(_OPENAI_PREFIXES):
        return "openai"
    return None


def choose_model(p: ProviderConfig, want: str | None, reg, pinned: bool) -> Candidate:
    """Which model this provider would use for the request, or why it cannot."""
    if want is None:
        m = p.model or (p.models[0] if p.models else None)
        # The stub echoes whatever it is asked: no registry entry to look up.
        entry = reg().resolve(m) if m and p.kind != "stub" else None
        return Candidate(p, m, entry, why="configured model" if m else "server's default model")
    from rfctl.registry import vendor_for_kind

    want_entry = reg().resolve(want)
    wl = want.lower()
    vendor = vendor_for_kind(p.kind)
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


def _chain(cfg: Config, opts: Options) -> list[ProviderConfig]:
    if not opts.providers:
        return cfg.enabled()
    chain = [cfg.provider(name) for name in opts.providers]
    for p in chain:
        if p.key_required and not p.key():
            raise ConfigError(f"provider {p.name!r} needs an API key: set {p.api_key_env}")
    return chain


def _lacks_capability(c: Candidate, capability: str | None) -> str | None:
    """Why c cannot be used for --capability, or None when it can."""
    if not capability:
        return None
    if c.entry is None:
        return f"capabilities unknown: {c.model or 'its model'} is not in the registry"
    if not c.entry.has(capability):
        return f"{c.entry.id} lacks capability {capability}"
    return None


def _too_long(
    c: Candidate, toks: PromptTokens, max_tokens: int | None, media: int = 0
) -> str | None:
    """Why the prompt (and its attachments' `media` tokens) plus max_tokens does
    not fit c's window, or None. The byte bound is tried first: a prompt that
    fits by it is never tokenized."""
    ctx = c.context
    out = (max_tokens or 0) + media
    if not ctx or toks.bound + out <= ctx or toks.exact(c.model) + out <= ctx:
        return None
    images = f" + attachments ~{media}" if media else ""
    return (
        f"prompt ~{toks.exact(c.model)} tokens{images} + max_tokens {max_tokens or 0} "
        f"exceeds its context window ({ctx})"
    )


def _filter(
    pl: Plan, chain: list[ProviderConfig], opts: Options, req: Request
) -> tuple[list[Candidate], int]:
    """Keys, model choice, capability, the request's features and context:
    (kept, how many dropped for their context window or attachment sizes)."""
    from rfctl.routing import needs

    kept: list[Candidate] = []
    context_drops = 0
    for p in chain:
        if p.key_required and not p.key():
            pl.drop(Candidate(p, p.model), f"no API key (set {p.api_key_env})")
            continue
        c = choose_model(p, opts.model, pl.reg, bool(opts.providers))
        if not c.kept:
            pl.drop(c, c.why)
            continue
        c.free = p.local or bool(getattr(c.entry, "free", False))
        why = _lacks_capability(c, opts.capability) or needs.unmet(
            c, req, pinned=bool(opts.providers)
        )
        if why is None:
            c.media_tokens = needs.extra_tokens(c, req)  # in the context check and the price
            why = needs.too_big(c, req) or _too_long(c, pl.toks, pl.max_tokens, c.media_tokens)
            context_drops += why is not None
        if why is not None:
            pl.drop(c, why)
            continue
        extra = needs.note(c, req)
        c.why = f"{c.why}; {extra}" if extra else c.why
        kept.append(c)
    return kept, context_drops


def _cooldowns(pl: Plan, kept: list[Candidate]) -> list[Candidate]:
    """Skip the cooling without contacting them; if all cool, probe the soonest."""
    import time

    now = time.time()
    cools = pl.state.entries(now)
    ready = []
    for c in kept:
        cd = cools.get(c.name)
        if cd is None:
            ready.append(c)
            continue
        c.failures = cd.failures
        if cd.left(now) <= 0:
            c.trial = True  # its cooldown ended: one attempt to find out
            c.why += f"; trial after {cd.failures} failure(s)"
            ready.append(c)
            continue
        c.cooling = cd.left(now)
        pl.drop(c, f"cooling down, {c.cooling:.1f} s left ({cd.reason})")
    if ready:
        return ready
    first = min(kept, key=lambda c: c.cooling)
    pl.dropped.remove(first)
    first.kept, first.probe = True, True
    first.why = (
        f"probe: every candidate is cooling down; its cooldown ends first "
        f"({first.cooling:.1f} s left)"
    )
    return [first]


def plan(cfg: Config, paths: Paths, req: Request, opts: Options, *, dry: bool = False) -> Plan:
    """The ordered candidates for this request and why the others were dropped.

    dry: only look (--dry-run): the round-robin cursor is read, not moved."""
    from rfctl import state
    from rfctl.routing import clock

    # Counting a long prompt's tokens (here, or for usage after the answer) keeps
    # to the deadline; a conversation's history counts too.
    toks = PromptTokens(
        input_text(req), req.system, clock.monotonic() + settings.deadline(cfg, opts)
    )
    chain = _chain(cfg, opts)
    pl = Plan(
        [],
        [],
        settings.strategy(cfg, opts),
        toks.bound,
        max_tokens=output_limit(req),  # a reasoning budget comes on top of max_tokens
        reg=LazyRegistry(paths),
        toks=toks,
        state=state.shared(paths, cfg.state),
    )
    kept, context_drops = _filter(pl, chain, opts, req)
    if not kept:
        big = next((c for c in pl.dropped if c.why.startswith("attachment too large")), None)
        if big is not None:
            why = big.why.split(": ", 1)[1]
            pl.error = RfctlError(
                f"no candidate can take the attachments ({big.name}: {why})", Exit.DATAERR
            )
        elif context_drops:
            n = toks.best_known() or toks.bound
            pl.error = RfctlError(
                f"the prompt (~{n} tokens) plus max_tokens {pl.max_tokens} exceeds the context "
                f"window of every candidate",
                Exit.DATAERR,
            )
        else:
            pl.error = RfctlError(_nothing_left(opts, pl.dropped), Exit.UNAVAILABLE)
        return pl
    if pl.strategy != "priority":  # priority keeps the chain's order: nothing to load
        from rfctl.routing import strategies

        kept = strategies.order(
            kept,
            pl.strategy,
            paths=paths,
            toks=toks,
            max_tokens=req.max_tokens,
            dry=dry,
            state=pl.state,
        )
    ready = _cooldowns(pl, kept)
    if opts.max_cost is not None or cfg.budget_daily_usd is not None:
        from rfctl.routing import budget

        ready = budget.apply(cfg, paths, opts, pl, ready)
    if pl.error is not None:
        return pl
    if not opts.fallback:
        for c in ready[1:]:
            pl.drop(c, "--no-fallback")
        ready = ready[:1]
    pl.candidates = ready
    pl.tokens = toks.best_known()
    return pl


def preview(cfg: Config, paths: Paths, req: Request, opts: Options) -> Plan:
    """The plan as --dry-run shows it: nothing moves (round-robin cursor),
    and every candidate with a known price gets its estimate; a long prompt
    is counted with tiktoken."""
    pl = plan(cfg, paths, req, opts, dry=True)
    toks = pl.toks
    if pl.tokens is None and toks.bound > EXACT_FOR_COST_ABOVE // 4:
        pl.tokens = toks.exact(pl.candidates[0].model if pl.candidates else opts.model)
    for c in pl.candidates + pl.dropped:
        if c.est_cost is None and (c.free or c.prices is not None):
            c.est_cost = c.estimate(toks, pl.max_tokens, exact=pl.tokens is not None)
    return pl


def _nothing_left(opts: Options, dropped: list[Candidate]) -> str:
    if not dropped:
        return "no provider is configured (configure one, or set an API key)"
    reasons = "; ".join(f"{c.name}: {c.why}" for c in dropped[:6])
    what = f"model {opts.model}" if opts.model else "this request"
    return f"no provider can serve {what} ({reasons})"
