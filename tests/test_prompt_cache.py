"""Anthropic prompt caching: where the cache_control breakpoints go, which
setting wins (flag, template, provider), what the usage log records and
what it costs, from usage payloads in the API's documented shape."""

from __future__ import annotations

import json

import pytest
import responses
from adapter_helpers import adapter, events
from reuse_helpers import usage_records, write_template

from rfctl.cost import cost_usd
from rfctl.providers import prompt_cache
from rfctl.providers.anthropic import map_usage
from rfctl.providers.base import Request
from rfctl.registry import Prices

LONG = "Rules of the house. " * 300  # ~6000 bytes: above every model's minimum
SONNET = Prices(input=3.0, output=15.0, cached_input=0.30, cache_write=3.75)
EPHEMERAL = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}


def payload(setting, *, system=LONG, prompt="Question?", messages=None, model="claude-sonnet-4-5"):
    a = adapter("anthropic", key="k", model=model)
    req = Request(prompt, system=system, messages=messages, cache_prompt=setting)
    return a.payload(req, model)


# ---------------------------------------------------------------- placement


def test_the_system_prompt_and_the_newest_question_get_a_breakpoint():
    body = payload(
        "5m", messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    )
    assert body["system"] == [{"type": "text", "text": LONG, "cache_control": EPHEMERAL}]
    history = body["messages"][:-1]
    assert history == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert body["messages"][-1] == {
        "role": "user",
        "content": [{"type": "text", "text": "Question?", "cache_control": EPHEMERAL}],
    }
    assert json.dumps(body).count("cache_control") == 2  # of the 4 allowed


def test_the_one_hour_cache_says_its_ttl_on_every_breakpoint():
    body = payload("1h")
    assert body["system"][0]["cache_control"] == HOUR
    assert body["messages"][-1]["content"][0]["cache_control"] == HOUR


@pytest.mark.parametrize("setting", [None, False])
def test_no_breakpoints_unless_asked(setting):
    body = payload(setting)
    assert body["system"] == LONG and "cache_control" not in json.dumps(body)


def test_a_prefix_shorter_than_the_model_minimum_is_not_marked():
    # Haiku 4.5 caches nothing under 4096 tokens; 3000 bytes cannot be that many.
    short = "x" * 3000
    body = payload("5m", system=short, model="claude-haiku-4-5")
    assert "cache_control" not in json.dumps(body)
    # The same text reaches Sonnet 4.5's 1024 and is marked.
    assert "cache_control" in json.dumps(payload("5m", system=short, model="claude-sonnet-4-5"))


def test_the_whole_conversation_counts_towards_the_minimum():
    turns = [{"role": "user", "content": "q " * 700}, {"role": "assistant", "content": "a " * 700}]
    body = payload("5m", system="short", messages=turns, model="claude-sonnet-4-5")
    assert body["system"] == "short"  # the system prompt alone is too short
    assert body["messages"][-1]["content"][0]["cache_control"] == EPHEMERAL


def test_only_a_non_empty_text_image_or_document_block_carries_a_marker():
    body = {
        "system": LONG,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "data": "iVBOR"}},
                    {"type": "text", "text": ""},
                ],
            }
        ],
    }
    assert prompt_cache.mark(body, "5m", "claude-sonnet-4-5") == 2
    image, empty = body["messages"][0]["content"]
    assert image["cache_control"] == EPHEMERAL and "cache_control" not in empty


@pytest.mark.parametrize(
    ("model", "tokens"),
    [
        ("claude-haiku-4-5-20251001", 4096),
        ("claude-opus-4-6", 4096),
        ("claude-opus-4-7", 2048),
        ("claude-3-5-haiku-latest", 2048),
        ("claude-sonnet-4-5", 1024),
        ("claude-opus-4-1", 1024),
        ("claude-sonnet-4-6", 1024),
        ("claude-fable-5", 512),
        ("some-local-model", 512),
    ],
)
def test_minimum_cacheable_lengths(model, tokens):
    assert prompt_cache.minimum_tokens(model) == tokens


def test_a_provider_setting_applies_when_the_request_has_none():
    from adapter_helpers import provider

    from rfctl.providers import make_adapter

    p = provider("anthropic", key="k", model="claude-sonnet-4-5")
    p.cache_prompt = "1h"
    a = make_adapter(p)
    assert a.payload(Request("q", system=LONG), "m")["system"][0]["cache_control"] == HOUR
    off = a.payload(Request("q", system=LONG, cache_prompt=False), "m")
    assert "cache_control" not in json.dumps(off)


def test_openai_style_payloads_never_carry_markers():
    a = adapter("openai", key="k", model="gpt-4o")
    body = a.payload(Request("q", system=LONG, cache_prompt="1h"), "gpt-4o")
    assert "cache_control" not in json.dumps(body)


# ---------------------------------------------------------------- usage and cost

# The usage object of a Messages API answer that wrote a cache entry.
WRITE_5M = {
    "input_tokens": 21,
    "cache_creation_input_tokens": 188086,
    "cache_read_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 188086, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 393,
}
WRITE_1H = {
    **WRITE_5M,
    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 188086},
}
READ = {
    "input_tokens": 50,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 188086,
    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 100,
}


def test_usage_splits_cache_writes_by_ttl():
    u = map_usage(WRITE_1H)
    assert (u.input_tokens, u.cache_write_tokens, u.cache_write_1h_tokens) == (
        188107,
        188086,
        188086,
    )
    assert map_usage(WRITE_5M).cache_write_1h_tokens == 0
    assert map_usage(READ).cached_input_tokens == 188086


@pytest.mark.parametrize(
    ("usage", "usd"),
    [
        # 21 fresh at $3, 188086 written for 5 minutes at $3.75, 393 out at $15 (per MTok)
        (WRITE_5M, (21 * 3 + 188086 * 3.75 + 393 * 15) / 1e6),
        # the same written for an hour: twice the input price, $6
        (WRITE_1H, (21 * 3 + 188086 * 6.0 + 393 * 15) / 1e6),
        # read back at a tenth: $0.30
        (READ, (50 * 3 + 188086 * 0.30 + 100 * 15) / 1e6),
    ],
    ids=["5m write", "1h write", "read"],
)
def test_each_cache_rate_is_priced(usage, usd):
    assert cost_usd(map_usage(usage), SONNET, free=False) == pytest.approx(usd, rel=1e-12)


def stream(usage: dict, text: str = "Done.") -> str:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "usage": {**usage, "output_tokens": 1},
        },
    }
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": usage["output_tokens"]},
    }
    return events(
        ("message_start", start),
        ("content_block_delta", delta),
        ("message_delta", end),
        ("message_stop", {"type": "message_stop"}),
    )


@pytest.fixture
def claude(write_config):
    write_config(
        "[defaults]\nretries = 0\n\n"
        '[providers.claude]\nkind = "anthropic"\nbase_url = "http://127.0.0.1:9"\n'
        'model = "claude-sonnet-4-5"\n'
    )
    with responses.RequestsMock() as rsps:
        yield rsps


def test_cache_prompt_through_generate_marks_the_request_and_logs_the_cache_tokens(rfctl, claude):
    claude.add(
        "POST",
        "http://127.0.0.1:9/v1/messages",
        body=stream(WRITE_1H),
        content_type="text/event-stream",
    )
    r = rfctl("generate", "--cache-prompt", "1h", "-s", LONG, "Question?")
    assert (r.code, r.out) == (0, "Done.\n"), r.err
    sent = json.loads(claude.calls[0].request.body)
    assert sent["system"][0]["cache_control"] == HOUR
    (rec,) = usage_records()
    assert rec["cache_write_tokens"] == 188086 and rec["cache_read_tokens"] == 0
    assert rec["cost_usd"] == pytest.approx((21 * 3 + 188086 * 6.0 + 393 * 15) / 1e6)
    # The record splits the writes by TTL and says what caching saved: a first
    # 1-hour write costs more than sending the tokens uncached (3 $/M).
    assert rec["cache_write_1h_tokens"] == 188086
    assert rec["saved_usd"] == pytest.approx(188086 * (3 - 6.0) / 1e6)


def test_a_template_cache_prompt_reaches_the_anthropic_payload(rfctl, claude):
    claude.add(
        "POST",
        "http://127.0.0.1:9/v1/messages",
        body=stream(READ),
        content_type="text/event-stream",
    )
    write_template(
        "rules", f"system: {json.dumps(LONG)}\nprompt: '{{{{input}}}}'\ncache_prompt: 5m\n"
    )
    assert rfctl("generate", "-T", "rules", "Question?").code == 0
    sent = json.loads(claude.calls[0].request.body)
    assert sent["system"][0]["cache_control"] == EPHEMERAL
    (rec,) = usage_records()
    assert (rec["cache_read_tokens"], rec["cached_input_tokens"]) == (188086, 188086)
    assert rec["saved_usd"] == pytest.approx(188086 * (3 - 0.3) / 1e6)  # reads at a tenth


def test_the_provider_table_can_turn_prompt_caching_on(rfctl, write_config):
    write_config(
        '[providers.claude]\nkind = "anthropic"\nbase_url = "http://127.0.0.1:9"\n'
        'model = "claude-sonnet-4-5"\ncache_prompt = "1h"\n'
    )
    with responses.RequestsMock() as rsps:
        rsps.add(
            "POST",
            "http://127.0.0.1:9/v1/messages",
            body=stream(READ),
            content_type="text/event-stream",
        )
        assert rfctl("generate", "-s", LONG, "q").code == 0
        assert json.loads(rsps.calls[0].request.body)["system"][0]["cache_control"] == HOUR


def test_a_bad_provider_cache_prompt_is_a_config_error(rfctl, write_config):
    write_config('[providers.claude]\nkind = "anthropic"\ncache_prompt = "2h"\n')
    r = rfctl("generate", "hi")
    assert r.code == 78 and "cache_prompt" in r.err and r.err.count("\n") == 1
