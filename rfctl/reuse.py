"""What `generate` reuses: a template's request, a conversation's history and
the response cache's answers.

One Session per generate call, used in this order:

    s = Session(args, cfg, paths)
    prompt = s.template(input_text)   # -T NAME -V k=v: fills in what the flags left unset
    req = settings.request(args, cfg, prompt)
    s.prepare(req)                    # -c / --conversation / --new-conversation: the history
    outcome = s.cached(opts, on_text) or routing.run(...)
    s.finish(outcome, opts)           # store the answer, append the turns

Precedence is flag > template > config: a template option only fills in a
flag that was not given, and settings.request then applies `[defaults]` to
what is still unset. A cache hit is answered here, before the plan, the
state file and any adapter are touched, so it costs little more than
starting Python: this module imports only light modules at the top, and the
templates (PyYAML), the registry and the token counter only when used.
"""

from __future__ import annotations

import time
from dataclasses import asdict, is_dataclass

from rfctl import console
from rfctl.errors import UsageError

# The flags a template may fill in, by template option name.
_TEMPLATE_FLAGS = {
    "model": "model",
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "schema": "schema",
    "cache_prompt": "cache_prompt",
}


def uses_reuse(args) -> bool:
    """Does this call name a template, a conversation or the cache?"""
    return bool(
        getattr(args, "template", None)
        or getattr(args, "continue_", False)
        or getattr(args, "conversation", None)
        or getattr(args, "new_conversation", None) is not None
        or getattr(args, "cache", False)
        or getattr(args, "refresh", False)
    )


def check_batch(args) -> None:
    """--jsonl lines are requests of their own: none of these apply to them."""
    if uses_reuse(args):
        raise UsageError(
            "-T/--template, conversations and --cache/--refresh do not combine with --jsonl"
        )


class Session:
    def __init__(self, args, cfg, paths):
        self.args, self.cfg, self.paths = args, cfg, paths
        self.req = None
        # Conversation
        self.store = None
        self.conversation: str | None = None
        self.stored_system: str | None = None
        # Cache
        self.cache = None
        self.keys: dict[str, str] = {}  # provider name -> cache key
        self.hit = False
        self.answered: tuple[str, dict] | None = None  # (key, hit record fields) of the answer
        self.t0 = time.monotonic()

    # ------------------------------------------------------------ templates

    def template(self, input_text: str) -> str:
        """The prompt to send: the input as given, or rendered through -T NAME.
        A template's options go into the flags the command line left unset."""
        args = self.args
        name = getattr(args, "template", None)
        if not name:
            if getattr(args, "var", None):
                raise UsageError("-V sets a template's variables: use it with -T NAME")
            return input_text
        from rfctl import templates

        t = templates.load(name, getattr(self.paths, "templates", None))
        system, prompt, options = templates.render(t, input_text, templates.parse_vars(args.var))
        flags = {opt: getattr(args, flag, None) for opt, flag in _TEMPLATE_FLAGS.items()}
        merged = templates.merge(flags, options, {})
        for opt, flag in _TEMPLATE_FLAGS.items():
            if merged.get(opt) is None:
                continue
            if not hasattr(args, flag):
                console.warn(f"template {t.name}: {opt} is not supported by this rfctl: ignored")
                continue
            setattr(args, flag, merged[opt])
        if args.system is None and system is not None:
            args.system = system
        return prompt

    # ------------------------------------------------------------ conversations

    def prepare(self, req, *, dry: bool = False) -> None:
        """Set the request's prompt-cache setting and its history."""
        self.req = req
        cache_prompt = getattr(self.args, "cache_prompt", None)
        if cache_prompt is not None:
            req.cache_prompt = cache_prompt
        self._open_conversation(dry)
        if self.conversation is None:
            return
        turns = self.store.load(self.conversation)
        systems = [t for t in turns if t.role == "system"]
        self.stored_system = systems[-1].content if systems else None
        if req.system is None:
            req.system = self.stored_system
        rest = [t for t in turns if t.role != "system"]
        if rest:
            from rfctl import conversations

            kept = self._fit(rest, req)
            req.messages = conversations.messages(kept)

    def _open_conversation(self, dry: bool) -> None:
        args = self.args
        cont = getattr(args, "continue_", False)
        named = getattr(args, "conversation", None)
        new = getattr(args, "new_conversation", None)
        if not (cont or named or new is not None):
            return
        from rfctl import conversations

        self.store = conversations.Store(getattr(self.paths, "conversations", None))
        if named:
            self.store.load(named)  # an unknown id: exit 65, naming it
            self.conversation = named
        elif cont:
            self.conversation = self.store.latest()
            if self.conversation is None and not dry:
                self.conversation = self.store.new()
                console.say(self._verbose(), f"conversation {self.conversation}: started")
        elif not dry:
            self.conversation = self.store.new(new or None)
        if self.conversation is not None:
            console.say(self._verbose(), f"conversation {self.conversation}")

    def _fit(self, turns, req):
        """The newest turns that fit the first candidate's context window
        with the new prompt, the system prompt and max_tokens."""
        from rfctl import conversations, tokens

        window, model = self._window()
        if window is None:
            return turns
        fixed = tokens.upper_bound(f"{req.system or ''}\n{req.prompt}") + tokens.TEMPLATE_TOKENS
        budget = window - (req.max_tokens or 0) - fixed
        by_bytes = sum(tokens.upper_bound(t.content) + conversations.TURN_OVERHEAD for t in turns)
        if by_bytes <= budget:  # fits by the upper bound: no tokenizer needed
            return turns
        fixed = tokens.estimate(f"{req.system or ''}\n{req.prompt}", model) + tokens.TEMPLATE_TOKENS
        budget = window - (req.max_tokens or 0) - fixed
        return conversations.trim(
            turns,
            max(budget, 0),
            lambda text: tokens.estimate(text, model),
            conversation=self.conversation,
            strict=getattr(self.args, "strict", False),
        )

    def _window(self) -> tuple[int | None, str | None]:
        """The first candidate's context window (None: unknown, so nothing is
        left out: a server that overflows says so, and the walk moves on to
        a larger window) and its model."""
        for _p, model, entry in self._candidates(need_entry=True):
            return getattr(entry, "context", None), model
        return None, None

    def _candidates(self, need_entry: bool = False):
        """(provider, model sent, registry entry) for each provider the walk
        may try, in the chain's order; the model as the plan chooses it."""
        opts_model = self.args.model
        pinned = list(self.args.provider)
        chain = [self.cfg.provider(n) for n in pinned] if pinned else self.cfg.enabled()
        reg = None
        for p in chain:
            if p.key_required and not p.key():
                continue
            if opts_model is None and not need_entry:
                # What choose_model sends, without loading the registry.
                yield p, p.model or (p.models[0] if p.models else None), None
                continue
            from rfctl.routing.candidates import LazyRegistry
            from rfctl.routing.plan import choose_model

            reg = reg or LazyRegistry(self.paths)
            c = choose_model(p, opts_model, reg, bool(pinned))
            if c.kept:
                yield p, c.model, c.entry

    # ------------------------------------------------------------ the response cache

    def _cache_on(self) -> bool:
        args = self.args
        if getattr(args, "no_cache", False):
            return False
        return bool(
            getattr(args, "cache", False)
            or getattr(args, "refresh", False)
            or self.cfg.cache.enabled
        )

    def _open_cache(self):
        from rfctl import cache

        s = self.cfg.cache
        self.cache = cache.Cache(
            getattr(self.paths, "cache", None), ttl=s.ttl, max_bytes=s.max_bytes
        )
        return self.cache

    def _request_fields(self) -> dict:
        from rfctl.providers.base import history

        req = self.req
        return {
            "messages": [*history(req), {"role": "user", "content": req.prompt}],
            "system": req.system,
            "temperature": req.temperature,
            "max_tokens": req.max_tokens,
            "stop": list(req.stop),
            "schema": _plain(getattr(req, "schema", None)),
            "reasoning": _plain(_reasoning(req)),
            "attachments": [_digest(a, key=True) for a in getattr(req, "attachments", None) or ()],
        }

    def _compute_keys(self) -> None:
        from rfctl.cache import request_key

        fields = self._request_fields()
        for p, model, _ in self._candidates():
            self.keys.setdefault(p.name, request_key(p.kind, p.base_url, model or "", fields))

    def cached(self, opts, on_text=None):
        """The Outcome of a cache hit (nothing sent), or None: ask the providers."""
        if not self._cache_on():
            return None
        c = self._open_cache()
        self._compute_keys()
        if getattr(self.args, "refresh", False):
            return None
        for name, key in self.keys.items():
            entry = c.get(key)
            if entry is None:
                continue
            console.say(opts.verbose, f"cache hit: {name} ({key[:12]})")
            self.hit = True
            return self._hit_outcome(self.cfg.provider(name), entry, opts, on_text)
        console.say(opts.verbose, "cache miss")
        return None

    def _hit_outcome(self, p, entry, opts, on_text):
        from rfctl import ledger
        from rfctl.ledger import Attempt
        from rfctl.providers.base import Result, Usage
        from rfctl.routing.outcome import Outcome, new_request_id

        latency = (time.monotonic() - self.t0) * 1000.0
        u = entry.usage
        result = Result(
            text=entry.text,
            finish_reason=entry.finish_reason,
            model=entry.model,
            usage=Usage(
                input_tokens=u.get("input_tokens"),
                output_tokens=u.get("output_tokens"),
                cached_input_tokens=u.get("cached_input_tokens"),
                reported=u.get("source") == "provider",
            ),
            latency_ms=latency,
            http_status=None,
        )
        # The answer is the provider's whose key matched (named as it is now).
        outcome = Outcome(new_request_id(), result=result, provider=p, cost_usd=0.0, cached=True)
        outcome.attempts.append(Attempt(p.name, p.kind, entry.model, "ok", latency, cost_usd=0.0))
        fields = {**entry.usage_fields(), "provider": p.name, "kind": p.kind}
        self.answered = (self.keys[p.name], fields)
        if opts.log:
            ledger.log_cached(self.paths.usage_log, outcome.request_id, fields, latency_ms=latency)
        if on_text is not None and entry.text:
            on_text(entry.text)
        return outcome

    # ------------------------------------------------------------ after the answer

    def finish(self, outcome) -> None:
        """Keep a whole answer in the cache and the exchange in the conversation."""
        if not outcome.ok:
            return
        r = outcome.result
        if self.cache is not None and not self.hit:
            key = self.keys.get(outcome.provider.name)
            if key is not None:
                from rfctl.cache import Entry

                u = r.usage
                entry = Entry(
                    text=r.text,
                    provider=outcome.provider.name,
                    kind=outcome.provider.kind,
                    model=r.model,
                    finish_reason=r.finish_reason,
                    usage={
                        k: v
                        for k, v in (
                            ("input_tokens", u.input_tokens),
                            ("output_tokens", u.output_tokens),
                            ("cached_input_tokens", u.cached_input_tokens),
                            ("source", u.source),
                        )
                        if v is not None
                    },
                    cost_usd=outcome.cost_usd,
                )
                if self.cache.put(key, entry):
                    fields = {**entry.usage_fields(), "kind": outcome.provider.kind}
                    self.answered = (key, fields)
        if self.answered is not None:
            self._remember(*self.answered)
        if self.conversation is not None:
            self._append(outcome)

    def _remember(self, key: str, fields: dict) -> None:
        """Leave the memo that lets the next identical invocation be answered
        before the parser and the config (rfctl.cache_hit)."""
        from rfctl import cache_hit

        if cache_hit.pending is None or self.conversation is not None:
            return
        from rfctl import usagelog

        record = usagelog.UsageRecord(ts="", request_id="", latency_ms=0.0, **fields).to_json()
        cache_hit.remember(
            self.cache._path(key),
            key,
            self.cache.ttl,
            [self.paths.config, self.paths.models],
            self.paths.usage_log,
            record,
        )

    def _append(self, outcome) -> None:
        from rfctl.conversations import Turn

        req, r = self.req, outcome.result
        turns = []
        if req.system and req.system != self.stored_system:
            turns.append(Turn("system", req.system))
        attachments = [_digest(a) for a in getattr(req, "attachments", None) or ()]
        turns.append(Turn("user", req.prompt, attachments=attachments))
        turns.append(
            Turn(
                "assistant",
                r.text,
                provider=outcome.provider.name,
                model=r.model,
                cost_usd=outcome.cost_usd,
                input_tokens=r.usage.input_tokens,
                output_tokens=r.usage.output_tokens,
                finish_reason=r.finish_reason,
                request_id=outcome.request_id,
            )
        )
        self.store.append(self.conversation, *turns)

    def _verbose(self) -> int:
        return getattr(self.args, "verbose", 0) or 0


def _plain(value):
    """A request field as plain JSON data for the cache key."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def _reasoning(req) -> dict | None:
    """The reasoning settings that shape the answer (--thinking, --reasoning-effort)."""
    thinking, effort = getattr(req, "thinking", None), getattr(req, "reasoning_effort", None)
    if thinking is None and effort is None:
        return None
    return {"thinking": thinking, "effort": effort}


def _digest(attachment, key: bool = False) -> dict:
    """An attachment as the cache key (key: its content's sha256 and media
    type) and the conversation (and its name) record it; never the bytes."""
    import hashlib

    get = attachment.get if isinstance(attachment, dict) else lambda k: getattr(attachment, k, None)
    digest = get("sha256")
    if digest is None:
        data = get("data")
        if isinstance(data, str):
            data = data.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest() if isinstance(data, bytes) else None
    out = {"sha256": digest or repr(attachment)}
    media = get("media_type") or get("mime_type") or get("mime")
    if media:
        out["media_type"] = media
    name = get("name")
    if name and not key:
        out["name"] = str(name)
    return out
