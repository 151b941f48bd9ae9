"""The router with scripted fake adapters and a fake clock: candidates, order,
retries, fallback, cooldowns, budgets, live cuts, the usage log.

End-to-end behaviour over real sockets is in test_router_faults.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from router_helpers import (
    FakeTime,
    Script,
    answer,
    compact,
    http,
    load_config,
    log_records,
    make_paths,
    partial_then,
    refused,
)

from rfctl import routing, state
from rfctl.commands.dry_run import show as dry_run
from rfctl.errors import ConfigError
from rfctl.providers.base import ProviderError, Request

THREE = """
[defaults]
cooldown = 30
cooldown_base = 30
[providers.a]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "gpt-4o"
[providers.b]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "gpt-4o-mini"
[providers.c]
kind = "ollama"
base_url = "http://127.0.0.1:9"
model = "llama3.2"
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    class Env:
        paths = make_paths(tmp_path)
        clock = FakeTime().install(monkeypatch)

        def __init__(self):
            self.cfg = load_config(THREE, tmp_path)

        def config(self, text):
            self.cfg = load_config(text, tmp_path)

        def script(self, **items):
            return Script(**items).install(monkeypatch)

        def run(self, prompt="hello", *, on_text=None, **opts):
            req = Request(
                prompt=prompt,
                max_tokens=opts.pop("max_tokens", 100),
                system=opts.pop("system", None),
            )
            o = routing.Options(**opts)
            o.live = on_text is not None
            return routing.run(self.cfg, self.paths, req, o, on_text=on_text)

    return Env()


# ---------------------------------------------------------------- retry and fallback


def test_a_transient_failure_is_retried_on_the_same_provider(env):
    s = env.script(a=[http(500)])
    out = env.run()
    assert out.ok and out.provider.name == "a"
    assert s.providers() == ["a", "a"]
    assert len(env.clock.slept) == 1 and 0.375 <= env.clock.slept[0] <= 0.5


def test_503_forever_falls_back_after_the_retries_and_cools_the_provider_down(env):
    s = env.script(a=[http(503)] * 3)
    out = env.run(retries=2)
    assert out.ok and out.provider.name == "b"
    assert s.providers() == ["a", "a", "a", "b"]
    assert "a" in state.cooldowns(env.paths.state)
    assert "server errors in a row" in state.cooldown_entries(env.paths.state)["a"].reason


@pytest.mark.parametrize(
    "fault",
    [refused(), ProviderError("timeout", "no response in time", transient=True)],
    ids=["refused", "silent"],
)
def test_a_provider_that_is_down_or_silent_falls_back_at_once_and_cools_down(env, fault):
    s = env.script(a=[fault])
    out = env.run(retries=3)
    assert out.ok and out.provider.name == "b"
    assert s.providers() == ["a", "b"]  # not asked again
    assert env.clock.slept == []  # no backoff either
    assert state.cooldowns(env.paths.state)["a"] == pytest.approx(30, abs=1)


def test_a_cooling_provider_is_skipped_without_being_contacted(env):
    state.start_cooldown(env.paths.state, "a", 30, "connection refused")
    s = env.script()
    out = env.run()
    assert out.ok and s.providers() == ["b"]


def test_when_everything_cools_the_soonest_to_end_gets_one_probe(env):
    for name, secs in (("a", 30), ("b", 10), ("c", 20)):
        state.start_cooldown(env.paths.state, name, secs, "down")
    s = env.script(b=[http(503), http(503)])
    out = env.run(retries=3)
    assert s.providers() == ["b"]  # one attempt, no retries, nobody else
    assert out.error.code == 75
    assert state.cooldowns(env.paths.state)["b"] == pytest.approx(30, abs=1)


def test_a_successful_probe_ends_the_cooldown(env):
    for name in ("a", "b", "c"):
        state.start_cooldown(env.paths.state, name, 10 if name == "c" else 30, "down")
    s = env.script()
    out = env.run()
    assert out.ok and s.providers() == ["c"]
    assert "c" not in state.cooldowns(env.paths.state)


def test_a_stream_cut_while_buffering_falls_back_transparently(env):
    cut = ProviderError("stream", "connection broken", transient=True)
    s = env.script(a=[partial_then(cut, "The quick")])
    out = env.run()
    assert out.ok and out.result.text == "ok from b"
    assert s.providers() == ["a", "b"]
    assert [c.live for c in s.calls] == [False, False]
    assert all(c.stream for c in s.calls)  # streamed on the wire all the same


def test_a_stream_cut_after_live_text_ends_the_call(env):
    # No later candidate can continue the answer (tests/test_continuation.py).
    env.config(THREE.replace('kind = "ollama"', 'kind = "openai-compatible"'))
    written = []
    cut = ProviderError("stream", "connection broken", transient=True)
    s = env.script(a=[partial_then(cut, "The quick")])
    out = env.run(on_text=written.append)
    assert not out.ok and out.error.code == 75
    assert "cut after 9 characters from a" in out.error.message
    assert "".join(written) == "The quick"
    assert s.providers() == ["a"]  # never a second answer


def test_live_failure_before_any_text_still_falls_back(env):
    written = []
    s = env.script(a=[refused()])
    out = env.run(on_text=written.append)
    assert out.ok and s.providers() == ["a", "b"]
    assert "".join(written).strip() == "ok from b"


def test_context_overflow_skips_to_a_larger_window_never_the_same_model(env):
    env.config(
        THREE.replace('model = "llama3.2"', 'model = "gpt-4.1"')
        .replace('kind = "ollama"', 'kind = "openai"')
        .replace('"http://127.0.0.1:9"\n', '"http://127.0.0.1:9/v1"\n')
        + '[providers.d]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'model = "gpt-4o"\npriority = 0\n'
    )
    too_long = http(
        400, "This model's maximum context length is 128000 tokens", code="context_length_exceeded"
    )
    s = env.script(d=[too_long])
    out = env.run()
    # d (gpt-4o) overflowed: a (gpt-4o again) and b (gpt-4o-mini, same window) are skipped.
    assert out.ok and s.providers() == ["d", "c"]
    assert out.result.model == "gpt-4.1"


def test_context_overflow_everywhere_is_bad_input(env):
    too_long = http(400, "prompt is too long: 300000 tokens > 200000 maximum")
    env.script(a=[too_long], b=[too_long], c=[too_long])
    out = env.run()
    assert out.error.code == 65


def test_a_content_policy_refusal_ends_the_call_with_its_reason(env):
    s = env.script(
        a=[
            http(
                400,
                "Your request was rejected by our safety system",
                code="content_policy_violation",
            )
        ]
    )
    out = env.run()
    assert out.error.code == 69
    assert "safety system" in out.error.message
    assert s.providers() == ["a"]


def test_exit_69_when_a_failure_was_not_transient_75_when_all_were(env):
    env.script(a=[http(401, "bad key")], b=[http(503)] * 3, c=[http(429)] * 3)
    assert env.run().error.code == 69
    state.update(env.paths.state, lambda d: d.clear())
    env.script(a=[http(503)] * 3, b=[http(429)] * 3, c=[http(529)] * 3)
    err = env.run().error
    assert err.code == 75
    assert err.message.startswith("no provider could answer: a: http 503")


def test_a_refused_connection_counts_as_not_transient_for_the_exit_code(env):
    # 69 when at least one failure was not transient, and a refused connection is not.
    # Nothing listens there; retrying later is not what the caller should do.
    env.script(a=[http(503)] * 3, b=[refused()], c=[http(429)] * 3)
    assert env.run().error.code == 69
    state.update(env.paths.state, lambda d: d.clear())
    env.script(a=[refused()], b=[refused()], c=[refused()])
    assert env.run().error.code == 69


def test_the_deadline_bounds_the_walk(env):
    def slow(req, timeouts, on_text):
        env.clock.offset += 5.0  # five seconds pass in this attempt
        raise ProviderError("timeout", "no response in time", transient=True)

    s = env.script(a=[slow])
    out = env.run(deadline=4.0)
    assert s.providers() == ["a"]
    assert out.error.code == 75
    assert "deadline of 4 s reached before trying b, c" in out.error.message
    # Out of time is not the provider's fault: no cooldown for it.
    assert "a" not in state.cooldowns(env.paths.state)


def test_a_retry_after_longer_than_the_deadline_moves_on(env):
    s = env.script(a=[http(429, headers={"retry-after": "20"})])
    out = env.run(deadline=10.0)
    assert out.ok and s.providers() == ["a", "b"]
    assert env.clock.slept == []


def test_a_retry_after_beyond_the_cap_cools_down_for_that_long(env):
    env.script(a=[http(503, headers={"retry-after": "300"})])
    out = env.run()
    assert out.ok and out.provider.name == "b"
    assert state.cooldowns(env.paths.state)["a"] == pytest.approx(300, abs=2)


def test_no_fallback_tries_only_the_first(env):
    s = env.script(a=[refused()])
    out = env.run(fallback=False)
    assert not out.ok and s.providers() == ["a"]


def test_flags_beat_provider_settings_which_beat_defaults(env):
    env.config(THREE.replace('model = "gpt-4o"\n', 'model = "gpt-4o"\ntimeout = 7\nretries = 0\n'))
    s = env.script(a=[http(503), http(503)])
    env.run()  # no flags: [defaults] timeout is 60
    assert s.calls[0].timeouts.attempt == 7  # provider over defaults
    assert s.providers() == ["a", "b"]  # provider retries = 0
    s = env.script(a=[http(503), http(503)])
    env.run(timeout=3.0, retries=1)  # --timeout 3 --retries 1
    assert s.calls[0].timeouts.attempt == 3
    assert s.providers() == ["a", "a", "b"]


# ---------------------------------------------------------------- the usage log


def test_every_attempt_is_logged_and_failed_ones_cost_nothing(env):
    env.script(a=[http(503)] * 3)
    out = env.run(retries=2)
    recs = log_records(env.paths)
    assert [r["provider"] for r in recs] == ["a", "a", "a", "b"]
    assert [r["attempt"] for r in recs] == [1, 2, 3, 4]
    assert {r["request_id"] for r in recs} == {out.request_id}
    assert [r["status"] for r in recs] == ["error"] * 3 + ["ok"]
    assert [r["cost_usd"] for r in recs[:3]] == [0.0] * 3
    assert recs[3]["model"] == "gpt-4o-mini"
    # 1000 input and 100 output tokens at gpt-4o-mini's 0.15 / 0.60 per million.
    assert recs[3]["cost_usd"] == pytest.approx(0.00021)
    assert out.cost_usd == pytest.approx(0.00021)
    assert recs[3]["tokens_source"] == "provider"
    assert recs[0]["http_status"] == 503


def test_no_log_writes_nothing(env):
    env.script(a=[http(503)] * 3)
    env.run(log=False)
    assert log_records(env.paths) == []


def test_unreported_usage_is_estimated_and_marked(env):
    from router_helpers import answer

    env.script(c=[lambda req, t, cb: answer("four words of answer", "llama3.2", reported=False)])
    env.run(providers=["c"])
    rec = log_records(env.paths)[-1]
    assert rec["tokens_source"] == "estimate"
    assert rec["output_tokens"] == 4 and rec["input_tokens"] > 0
    assert rec["cost_usd"] == 0.0  # local: free by declaration


# ---------------------------------------------------------------- candidates


MODELS = """
[providers.claude]
kind = "anthropic"
base_url = "http://127.0.0.1:9"
model = "claude-haiku-4-5"
[providers.openai]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "gpt-4o-mini"
[providers.ollama]
kind = "ollama"
base_url = "http://127.0.0.1:9"
model = "llama3.2"
[providers.lm]
kind = "lmstudio"
base_url = "http://127.0.0.1:9/v1"
models = ["qwen3-coder", "phi4"]
"""


def plan(env, **opts):
    req = Request(prompt=opts.pop("prompt", "hello"), max_tokens=opts.pop("max_tokens", 100))
    return routing.plan(env.cfg, env.paths, req, routing.Options(**opts))


def kept(pl):
    return [(c.name, c.model) for c in pl.candidates]


def test_model_alias_picks_the_vendor_provider_and_sends_the_api_id(env):
    env.config(MODELS)
    pl = plan(env, model="sonnet")
    assert kept(pl) == [("claude", "claude-sonnet-5")]
    why = {c.name: c.why for c in pl.dropped}
    assert why["openai"] == "does not serve sonnet"
    assert why["lm"] == "does not serve sonnet"


def test_a_dated_snapshot_goes_out_as_typed(env):
    env.config(MODELS)
    pl = plan(env, model="gpt-4o-mini-2024-07-18")
    assert kept(pl) == [("openai", "gpt-4o-mini-2024-07-18")]


def test_a_local_model_goes_to_servers_that_list_it_or_list_nothing(env):
    env.config(MODELS)
    pl = plan(env, model="qwen3-coder:30b")
    # ollama has no models list (may serve it, sent as typed); lm lists the family.
    assert kept(pl) == [("ollama", "qwen3-coder:30b"), ("lm", "qwen3-coder")]


def test_capability_filter_uses_the_registry(env):
    env.config(MODELS)
    pl = plan(env, capability="reasoning")
    assert kept(pl) == [("claude", "claude-haiku-4-5")]
    why = {c.name: c.why for c in pl.dropped}
    assert "lacks capability reasoning" in why["openai"]


def test_a_short_prompt_needs_no_tokenizer(env, monkeypatch):
    import rfctl.tokens

    def boom(*a, **k):
        raise AssertionError("tiktoken used for a prompt that fits by its byte count")

    monkeypatch.setattr(rfctl.tokens, "estimate", boom)
    env.config(MODELS)
    assert len(plan(env, prompt="hello " * 500).candidates) == 4


def test_a_prompt_too_big_for_a_window_drops_only_that_candidate(env):
    env.config(MODELS.replace('model = "llama3.2"', 'model = "llama3"'))  # 8k window
    pl = plan(env, prompt="lorem ipsum dolor sit amet " * 3000)  # ~15k tokens
    assert "ollama" not in [c.name for c in pl.candidates]
    why = {c.name: c.why for c in pl.dropped}
    assert "exceeds its context window (8192)" in why["ollama"]
    assert pl.tokens and 10000 < pl.tokens < 20000


def test_a_prompt_too_big_for_every_window_is_exit_65(env):
    env.config(MODELS.replace('model = "llama3.2"', 'model = "llama3"'))
    s = env.script()
    out = env.run(prompt="word " * 100, max_tokens=300000)
    assert out.error.code == 65 and s.calls == []


def test_missing_keys_drop_unpinned_providers_and_fail_pinned_ones(env, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    env.config(
        MODELS.replace(
            'base_url = "http://127.0.0.1:9"\nmodel = "claude-haiku-4-5"',
            'model = "claude-haiku-4-5"',
        )
    )
    pl = plan(env)
    assert "claude" not in [c.name for c in pl.candidates]
    assert "ANTHROPIC_API_KEY" in {c.name: c.why for c in pl.dropped}["claude"]
    with pytest.raises(ConfigError):
        plan(env, providers=["claude"])


# ---------------------------------------------------------------- strategies


def test_round_robin_rotates_across_invocations(env):
    s = env.script()
    for _ in range(4):
        env.run(strategy="round-robin")
    assert s.providers() == ["a", "b", "c", "a"]


def test_cost_puts_the_cheapest_estimate_first(env):
    pl = plan(env, strategy="cost")
    assert [c.name for c in pl.candidates] == ["c", "b", "a"]  # free local, mini, 4o


def test_latency_orders_by_recent_p50_and_falls_back_to_priority(env):
    assert [c.name for c in plan(env, strategy="latency").candidates] == ["a", "b", "c"]
    with open(env.paths.usage_log, "w") as f:
        for name, ms in (("a", 900), ("b", 300), ("b", 500), ("a", 1000)):
            f.write(
                compact(
                    {
                        "ts": "2026-11-29T00:00:00.000Z",
                        "provider": name,
                        "status": "ok",
                        "latency_ms": ms,
                    }
                )
            )
    assert [c.name for c in plan(env, strategy="latency").candidates] == ["b", "a", "c"]


def test_an_explicit_chain_keeps_its_order_unless_strategy_is_given(env):
    env.config(THREE.replace("cooldown = 30", 'cooldown = 30\nstrategy = "cost"'))
    pl = plan(env, providers=["b", "a"])  # cost from [defaults]: the chain's order stays
    assert [c.name for c in pl.candidates] == ["b", "a"]
    pl = plan(env, providers=["a", "b"])
    assert [c.name for c in pl.candidates] == ["a", "b"]
    pl = plan(env, providers=["a", "b"], strategy="cost")  # --strategy cost
    assert [c.name for c in pl.candidates] == ["b", "a"]


# ---------------------------------------------------------------- budgets


def test_max_cost_refuses_before_sending(env):
    env.config(THREE.replace("[providers.c]", "[providers.c]\nenabled = false"))
    s = env.script()
    out = env.run(max_cost=0.0001, max_tokens=1000)
    assert out.error.code == 77 and s.calls == []
    assert "exceeds --max-cost" in out.error.message


def test_max_cost_routes_to_a_free_local_provider_in_the_chain(env):
    s = env.script()
    out = env.run(max_cost=0.0001, max_tokens=1000)
    assert out.ok and s.providers() == ["c"]


def test_max_cost_with_cost_strategy_routes_to_what_fits(env):
    env.config(THREE.replace("[providers.c]", "[providers.c]\nenabled = false"))
    s = env.script()
    # gpt-4o would be ~$0.01, gpt-4o-mini ~$0.0006.
    out = env.run(max_cost=0.001, max_tokens=1000, strategy="cost")
    assert out.ok and s.providers() == ["b"]


def test_a_fallback_over_the_limit_is_never_tried(env):
    env.config(
        THREE.replace("[providers.c]", "[providers.c]\nenabled = false")
        .replace('model = "gpt-4o"\n', 'model = "gpt-4o-mini"\n', 1)
        .replace('model = "gpt-4o-mini"\n[providers.c]', 'model = "gpt-4o"\n[providers.c]')
    )
    s = env.script(a=[refused()])
    out = env.run(max_cost=0.001, max_tokens=1000)
    assert s.providers() == ["a"] and out.error.code == 69


def test_daily_budget_counts_todays_spend_from_the_log(env):
    env.config(
        "[budget]\ndaily_usd = 0.05\n"
        + THREE.replace("[providers.c]", "[providers.c]\nenabled = false")
    )
    today = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    env.paths.usage_log.write_text(
        compact({"ts": today, "provider": "a", "status": "ok", "cost_usd": 0.0499})
    )
    s = env.script()
    out = env.run(max_tokens=1000)
    assert out.error.code == 77 and s.calls == []
    assert "daily budget" in out.error.message


def test_an_unknown_price_cannot_be_checked_against_a_limit(env):
    env.config(
        THREE.replace('model = "gpt-4o"', 'model = "gpt-99-secret"').replace(
            "[providers.c]", "[providers.c]\nenabled = false"
        )
    )
    s = env.script()
    out = env.run(max_cost=1.0)
    assert out.error.code == 77 and s.calls == []
    assert "price of gpt-99-secret unknown" in out.error.message


# ---------------------------------------------------------------- -v and --dry-run


def test_verbose_prints_each_attempt_with_outcome_latency_and_wait(env, capsys):
    env.script(a=[http(503), http(503)], b=[])
    state.start_cooldown(env.paths.state, "c", 30, "connection refused")
    env.run(verbose=1, retries=1)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("rfctl: skip c: cooling down")
    assert err[1].startswith("rfctl: attempt 1: a gpt-4o: error http 503")
    assert " ms); retry in 0." in err[1]
    assert "cooldown 30 s; next: b" in err[2]
    assert err[3].startswith("rfctl: attempt 3: b gpt-4o-mini: ok (")


def test_dry_run_prints_the_plan_and_sends_nothing(env, capsys):
    state.start_cooldown(env.paths.state, "b", 30, "connection refused")
    s = env.script()
    req = Request(prompt="hello", max_tokens=100)
    code = dry_run(env.cfg, env.paths, req, routing.Options(json=True))
    plan_ = json.loads(capsys.readouterr().out)
    assert code == 0 and s.calls == []
    assert [c["provider"] for c in plan_["candidates"]] == ["a", "c"]
    assert plan_["dropped"][0]["provider"] == "b"
    assert plan_["dropped"][0]["why"].startswith("cooling down")
    assert plan_["candidates"][0]["estimated_cost_usd"] > 0
    assert plan_["candidates"][1]["estimated_cost_usd"] == 0.0
    assert plan_["tokens"]["prompt_upper_bound"] >= 5


def test_dry_run_does_not_rotate_round_robin(env, capsys):
    req = Request(prompt="hello", max_tokens=100)
    for _ in range(2):
        dry_run(env.cfg, env.paths, req, routing.Options(strategy="round-robin", json=True))
        assert json.loads(capsys.readouterr().out)["candidates"][0]["provider"] == "a"


def test_a_closed_output_pipe_is_not_a_reason_to_fall_back(env):
    def closed(piece):
        raise BrokenPipeError(32, "Broken pipe")

    s = env.script()
    with pytest.raises(BrokenPipeError):
        env.run(on_text=closed)
    assert s.providers() == ["a"]


# ---------------------------------------------------------------- interrupts, shared work


def test_an_attempt_in_flight_when_the_user_interrupts_leaves_no_trace(env):
    """Ctrl-C during a batch: worker threads' attempts end without a log
    record, a cooldown or a fallback (the timeout they see is our doing)."""
    import threading

    cancel = threading.Event()

    def interrupted(req, timeouts, on_text):
        cancel.set()  # the user pressed Ctrl-C while this attempt waited
        raise ProviderError("timeout", "no response in time", transient=True)

    s = env.script(a=[interrupted])
    with pytest.raises(KeyboardInterrupt):
        env.run(cancel=cancel)
    assert s.providers() == ["a"]  # no retry, no fallback to b
    assert state.cooldowns(env.paths.state) == {}
    assert log_records(env.paths) == []


def test_a_cancelled_batch_line_does_not_start(env):
    import threading

    cancel = threading.Event()
    cancel.set()
    s = env.script()
    with pytest.raises(KeyboardInterrupt):
        env.run(cancel=cancel, strategy="round-robin")
    assert s.providers() == []
    assert not env.paths.state.exists()  # not even the round-robin cursor moved


def test_a_per_provider_zero_is_a_value_not_the_default(env):
    from dataclasses import replace

    a = env.cfg.providers["a"]
    env.cfg.providers["a"] = replace(a, retries=0, stall_timeout=0.0, connect_timeout=0.0)
    s = env.script(a=[http(503)])
    out = env.run()  # [defaults] retries = 2
    assert out.provider.name == "b"
    assert s.providers() == ["a", "b"]  # retries = 0 on a: no second attempt
    t = s.calls[0].timeouts
    assert t.stall == 0.0 and t.connect == 0.0


def test_one_call_loads_the_registry_once_and_bounds_the_prompt_once(env, monkeypatch):
    from rfctl import registry, tokens

    loads, bounds = [], []
    real_load, real_bound = registry.load, tokens.upper_bound
    monkeypatch.setattr(registry, "load", lambda *a: loads.append(1) or real_load(*a))
    monkeypatch.setattr(tokens, "upper_bound", lambda t: bounds.append(t) or real_bound(t))
    env.script(a=[lambda req, t, on_text: answer("fine", "gpt-4o", reported=False)])
    out = env.run()
    assert out.ok and out.result.usage.input_tokens  # estimated: the provider said nothing
    assert len(loads) == 1
    assert bounds.count("hello") == 1  # the plan's PromptTokens, reused for the estimate


def test_dry_run_bounds_the_prompt_once(env, monkeypatch, capsys):
    from rfctl import tokens

    bounds = []
    real_bound = tokens.upper_bound
    monkeypatch.setattr(tokens, "upper_bound", lambda t: bounds.append(t) or real_bound(t))
    assert dry_run(env.cfg, env.paths, Request("hi", max_tokens=10), routing.Options()) == 0
    assert bounds.count("hi") == 1


# ---------------------------------------------------------------- which setting wins


def test_precedence_is_flag_then_provider_then_defaults(env):
    from dataclasses import replace

    from rfctl import settings

    p = env.cfg.providers["a"]
    tuned = replace(p, timeout=7.0, retries=0, connect_timeout=1.0)
    t = settings.timeouts(env.cfg, routing.Options(), p, stream=True, deadline_at=0.0)
    assert (t.attempt, t.connect) == (env.cfg.defaults.timeout, env.cfg.defaults.connect_timeout)
    t = settings.timeouts(env.cfg, routing.Options(), tuned, stream=True, deadline_at=0.0)
    assert (t.attempt, t.connect) == (7.0, 1.0)
    t = settings.timeouts(env.cfg, routing.Options(timeout=3.0), tuned, stream=True, deadline_at=0)
    assert t.attempt == 3.0
    assert settings.retry_policy(env.cfg, routing.Options(), tuned, probe=False).retries == 0
    assert (
        settings.retry_policy(env.cfg, routing.Options(retries=1), tuned, probe=False).retries == 1
    )
    assert (
        settings.retry_policy(env.cfg, routing.Options(retries=1), tuned, probe=True).retries == 0
    )
    assert settings.strategy(env.cfg, routing.Options(providers=["a"])) == "priority"
    assert settings.strategy(env.cfg, routing.Options(providers=["a"], strategy="cost")) == "cost"
