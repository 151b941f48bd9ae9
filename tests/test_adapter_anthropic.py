"""The Anthropic Messages adapter against the documented API examples and
llama-server's recorded /v1/messages answers, HTTP mocked with `responses`."""

from __future__ import annotations

import pytest
import responses
from adapter_helpers import (
    FAST,
    LS512_OVERFLOW_MESSAGES,
    LS_MESSAGES,
    LS_MESSAGES_STREAM,
    LS_V1_MODELS,
    SECRET,
    adapter,
    events,
    reset_caches,
    sent_json,
    trickle,
)

from rfctl.providers.base import ProviderError, Request

API = "https://api.anthropic.com"
LOCAL = "http://127.0.0.1:8080"  # llama-server's Anthropic-style route


@pytest.fixture(autouse=True)
def _fresh():
    reset_caches()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


def claude(**kw):
    return adapter("anthropic", API, key=SECRET, model="claude-sonnet-4-5-20250929", **kw)


def stream(rsps, body, a=None, url=API):
    rsps.add("POST", f"{url}/v1/messages", body=body, content_type="text/event-stream")
    got: list[str] = []
    result = (a or claude()).generate(
        Request("Say hello in two words.", stream=True), FAST, got.append
    )
    return result, got


def stream_error(rsps, body) -> ProviderError:
    with pytest.raises(ProviderError) as e:
        stream(rsps, body)
    return e.value


# ---------------------------------------------------------------- non-stream


def test_request_headers_and_body(rsps):
    rsps.add("POST", f"{API}/v1/messages", json=MESSAGE)
    req = Request(
        "Say hello in two words.",
        system="You are terse.",
        max_tokens=64,
        temperature=0.2,
        stop=["\n\nHuman:"],
    )
    claude().generate(req, FAST)
    call = rsps.calls[0]
    assert call.request.headers["x-api-key"] == SECRET
    assert call.request.headers["anthropic-version"] == "2023-06-01"
    assert call.request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in call.request.headers
    assert sent_json(call) == {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 64,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Say hello in two words."}],
        "temperature": 0.2,
        "stop_sequences": ["\n\nHuman:"],
    }


def test_max_tokens_is_always_sent_and_temperature_only_when_set(rsps):
    rsps.add("POST", f"{API}/v1/messages", json=MESSAGE)
    claude().generate(Request("hi"), FAST)
    body = sent_json(rsps.calls[0])
    assert body["max_tokens"] == 1024
    assert "temperature" not in body and "system" not in body and "stop_sequences" not in body
    assert "stream" not in body


def test_message_is_parsed(rsps):
    rsps.add("POST", f"{API}/v1/messages", json=MESSAGE)
    result = claude().generate(Request("hi"), FAST)
    assert result.text == "Hello there."
    assert result.finish_reason == "stop"  # end_turn
    assert result.model == "claude-sonnet-4-5-20250929"
    assert result.response_id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (19, 6)
    assert result.usage.reported and not result.stream


def test_usage_adds_cache_reads_and_writes_to_input(rsps):
    message = {
        **MESSAGE,
        "usage": {
            "input_tokens": 19,
            "cache_creation_input_tokens": 1200,
            "cache_read_input_tokens": 3000,
            "output_tokens": 6,
            "output_tokens_details": {"thinking_tokens": 2},
        },
    }
    rsps.add("POST", f"{API}/v1/messages", json=message)
    u = claude().generate(Request("hi"), FAST).usage
    assert u.input_tokens == 19 + 1200 + 3000
    assert (u.cached_input_tokens, u.cache_write_tokens) == (3000, 1200)
    assert (u.output_tokens, u.reasoning_tokens) == (6, 2)


def test_text_blocks_are_joined_and_others_skipped(rsps):
    content = [
        {"type": "thinking", "thinking": "hmm", "signature": "x"},
        {"type": "text", "text": "Hello"},
        {"type": "tool_use", "id": "t", "name": "f", "input": {}},
        {"type": "text", "text": " there."},
    ]
    rsps.add(
        "POST",
        f"{API}/v1/messages",
        json={**MESSAGE, "content": content, "stop_reason": "max_tokens"},
    )
    result = claude().generate(Request("hi"), FAST)
    assert result.text == "Hello there." and result.finish_reason == "length"


def test_llama_server_messages_without_key_or_model(rsps):
    LS_V1_MODELS.add(rsps, f"{LOCAL}/v1/models?limit=20")
    LS_MESSAGES.add(rsps, f"{LOCAL}/v1/messages")
    result = adapter("anthropic", LOCAL).generate(Request("What is 2+2?", max_tokens=24), FAST)
    models_call, call = rsps.calls
    assert "x-api-key" not in call.request.headers
    assert sent_json(call)["model"] == "gemma-3-270m-q4_k_m.gguf"  # first listed
    assert result.text == LS_MESSAGES.json()["content"][0]["text"]
    assert result.finish_reason == "length"
    # input_tokens 5 + cache_read_input_tokens 42
    assert (result.usage.input_tokens, result.usage.cached_input_tokens) == (47, 42)
    assert result.usage.output_tokens == 24


def test_base_url_with_v1_is_tolerated(rsps):
    rsps.add("POST", f"{API}/v1/messages", json=MESSAGE)
    adapter("anthropic", f"{API}/v1", key=SECRET, model="m").generate(Request("hi"), FAST)
    assert rsps.calls[0].request.url == f"{API}/v1/messages"


def test_refusal_is_an_error_with_the_reason(rsps):
    refusal = {
        **MESSAGE,
        "content": [],
        "stop_reason": "refusal",
        "stop_details": {
            "type": "refusal",
            "category": "cyber",
            "explanation": "Request for malware.",
        },
    }
    rsps.add("POST", f"{API}/v1/messages", json=refusal)
    with pytest.raises(ProviderError) as e:
        claude().generate(Request("hi"), FAST)
    assert e.value.kind == "refusal" and not e.value.transient
    assert "refused" in e.value.message and "Request for malware." in e.value.message


# ---------------------------------------------------------------- streaming


def test_stream_fixture_with_ping(rsps):
    result, got = stream(rsps, STREAM)
    assert sent_json(rsps.calls[0])["stream"] is True
    assert got == ["Hello", " there."]
    assert result.text == "Hello there." and result.finish_reason == "stop"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (19, 6)
    assert result.usage.reported and result.stream
    assert result.response_id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert result.ttft_ms is not None and result.ttft_ms <= result.latency_ms


def test_llama_server_stream_capture(rsps):
    a = adapter("anthropic", LOCAL, model="gemma-3-270m-q4_k_m.gguf")
    result, got = stream(rsps, LS_MESSAGES_STREAM.body, a, LOCAL)
    assert got[:3] == ["What", " is", " "] and "".join(got) == result.text
    assert result.finish_reason == "length"
    # message_start: input 5 + cache_read 25, output 0; message_delta: output 24.
    assert (result.usage.input_tokens, result.usage.output_tokens) == (30, 24)
    assert result.model == "gemma-3-270m-q4_k_m.gguf"


def test_cumulative_usage_in_message_delta_wins(rsps):
    body = events(
        ("message_start", _start(usage={"input_tokens": 10, "output_tokens": 1})),
        ("content_block_delta", _delta("a")),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 40, "input_tokens": 12, "cache_read_input_tokens": 100},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    )
    result, _ = stream(rsps, body)
    u = result.usage
    assert (u.input_tokens, u.cached_input_tokens, u.output_tokens) == (112, 100, 40)


def test_unknown_events_and_deltas_are_ignored(rsps):
    body = events(
        ("message_start", _start()),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "x"},
            },
        ),
        ("brand_new_event", {"type": "brand_new_event", "whatever": [1]}),
        ("content_block_delta", _delta("ok", future_field=True)),
        ("message_delta", _end("end_turn")),
        ("message_stop", {"type": "message_stop"}),
    )
    body = ": comment\n\n" + body
    result, got = stream(rsps, body)
    assert got == ["ok"] and result.finish_reason == "stop"


def test_utf8_split_across_reads(rsps):
    text = ["Ça va? ", "日本語", " 👍🏽"]
    body = events(
        ("message_start", _start()),
        *[("content_block_delta", _delta(t)) for t in text],
        ("message_delta", _end("end_turn")),
        ("message_stop", {"type": "message_stop"}),
    )
    result, got = stream(rsps, trickle(body))
    assert got == text and result.text == "".join(text)


def test_overloaded_mid_stream_is_transient_with_partial_text(rsps):
    err = stream_error(rsps, OVERLOADED_STREAM)
    assert err.kind == "overloaded" and err.transient
    assert err.partial_text == "Hel"
    assert err.provider_type == "overloaded_error" and err.message == "Overloaded"
    assert err.status is None and err.accepted


@pytest.mark.parametrize(
    ("etype", "kind", "transient"),
    [
        ("rate_limit_error", "rate_limit", True),
        ("api_error", "stream", True),
        ("invalid_request_error", "stream", False),
        ("something_new", "stream", True),
    ],
)
def test_other_error_events(rsps, etype, kind, transient):
    body = events(
        ("message_start", _start()),
        ("content_block_delta", _delta("x")),
        ("error", {"type": "error", "error": {"type": etype, "message": "m"}}),
    )
    err = stream_error(rsps, body)
    assert (err.kind, err.transient, err.partial_text) == (kind, transient, "x")


def test_stream_ending_after_stop_reason_without_message_stop_is_complete(rsps):
    body = events(
        ("message_start", _start()),
        ("content_block_delta", _delta("done")),
        ("message_delta", _end("max_tokens")),
    )
    result, _ = stream(rsps, body)
    assert result.text == "done" and result.finish_reason == "length"


def test_stream_cut_before_any_stop_reason(rsps):
    body = events(("message_start", _start()), ("content_block_delta", _delta("half")))
    err = stream_error(rsps, body)
    assert err.kind == "stream" and err.transient and err.partial_text == "half"
    assert "message_stop" in err.message


def test_malformed_event_data(rsps):
    body = events(("message_start", _start()), ("content_block_delta", _delta("a")))
    body += "event: content_block_delta\ndata: {not json\n\n"
    err = stream_error(rsps, body)
    assert err.kind == "stream" and err.transient and "malformed" in err.message
    assert err.partial_text == "a"


def test_refusal_in_stream(rsps):
    body = events(
        ("message_start", _start()),
        ("content_block_delta", _delta("I")),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "refusal",
                    "stop_details": {"type": "refusal", "category": "bio", "explanation": None},
                },
                "usage": {"output_tokens": 2},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    )
    err = stream_error(rsps, body)
    assert err.kind == "refusal" and not err.transient and err.partial_text == "I"
    assert "bio" in err.message


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "etype", "message", "kind", "transient"),
    [
        (529, "overloaded_error", "Overloaded", "overloaded", True),
        (404, "not_found_error", "model: claude-sonnet-9", "not_found", False),
        (400, "invalid_request_error", "max_tokens: Field required", "http", False),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 215000 tokens > 200000 maximum",
            "context",
            False,
        ),
        (401, "authentication_error", "invalid x-api-key", "auth", False),
        (403, "permission_error", "no access", "auth", False),
        (402, "billing_error", "credit balance too low", "quota", False),
        (429, "rate_limit_error", "slow down", "rate_limit", True),
        (500, "api_error", "Internal server error", "http", True),
        (504, "timeout_error", "timeout", "http", True),
    ],
)
def test_http_errors(rsps, status, etype, message, kind, transient):
    rsps.add(
        "POST",
        f"{API}/v1/messages",
        status=status,
        headers={"retry-after": "3"},
        json={
            "type": "error",
            "error": {"type": etype, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
        },
    )
    with pytest.raises(ProviderError) as e:
        claude().generate(Request("hi"), FAST)
    err = e.value
    assert (err.kind, err.transient, err.status, err.provider_type) == (
        kind,
        transient,
        status,
        etype,
    )
    assert err.message == message and err.retry_after == 3.0
    assert err.short().startswith(f"http {status} {etype}")


def test_llama_server_context_overflow(rsps):
    LS512_OVERFLOW_MESSAGES.add(rsps, f"{LOCAL}/v1/messages")
    with pytest.raises(ProviderError) as e:
        adapter("anthropic", LOCAL, model="gemma3-270m").generate(
            Request("long", stream=True), FAST
        )
    assert e.value.kind == "context" and e.value.status == 400


def test_the_key_never_appears_in_errors(rsps):
    rsps.add(
        "POST",
        f"{API}/v1/messages",
        status=401,
        json={
            "type": "error",
            "error": {"type": "authentication_error", "message": f"invalid x-api-key: {SECRET}"},
        },
    )
    with pytest.raises(ProviderError) as e:
        claude().generate(Request("hi"), FAST)
    for text in (str(e.value), e.value.message, repr(e.value)):
        assert SECRET not in text


# ---------------------------------------------------------------- health and models


def test_health_lists_models(rsps):
    rsps.add("GET", f"{API}/v1/models?limit=100", json=MODELS_PAGE_2)
    h = claude().health(2)
    assert h.ok and h.models == ["claude-haiku-4-5-20251001"]
    assert rsps.calls[0].request.headers["x-api-key"] == SECRET


def test_health_without_a_key_is_down(rsps):
    rsps.add(
        "GET",
        f"{API}/v1/models?limit=100",
        status=401,
        json={
            "type": "error",
            "error": {"type": "authentication_error", "message": "x-api-key header is required"},
        },
    )
    h = adapter("anthropic", API, model="m").health(2)
    assert not h.ok and "401" in h.detail


def test_list_models_follows_pages(rsps):
    rsps.add("GET", f"{API}/v1/models?limit=1000", json=MODELS_PAGE_1)
    rsps.add(
        "GET", f"{API}/v1/models?limit=1000&after_id=claude-sonnet-4-5-20250929", json=MODELS_PAGE_2
    )
    models = claude().list_models(2)
    assert [(m.id, m.context, m.max_output) for m in models] == [
        ("claude-opus-4-6", 1000000, 128000),
        ("claude-sonnet-4-5-20250929", None, None),  # older answers lack the fields
        ("claude-haiku-4-5-20251001", 200000, 64000),
    ]
    assert models[0].extra["display_name"] == "Claude Opus 4.6"


# -------------------------------------------- fixtures (the Messages API's documented shapes)

MESSAGE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hello there."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 19,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 6,
        "service_tier": "standard",
    },
}

STREAM = """event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":19,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type":"ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":6}}

event: message_stop
data: {"type":"message_stop"}

"""

OVERLOADED_STREAM = """event: message_start
data: {"type":"message_start","message":{"id":"msg_01Q2w3E4r5T6y7U8i9O0p","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":19,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}

event: error
data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

"""

MODELS_PAGE_1 = {
    "data": [
        {
            "type": "model",
            "id": "claude-opus-4-6",
            "display_name": "Claude Opus 4.6",
            "created_at": "2026-02-05T00:00:00Z",
            "max_input_tokens": 1000000,
            "max_tokens": 128000,
        },
        {
            "type": "model",
            "id": "claude-sonnet-4-5-20250929",
            "display_name": "Claude Sonnet 4.5",
            "created_at": "2025-09-29T00:00:00Z",
        },
    ],
    "has_more": True,
    "first_id": "claude-opus-4-6",
    "last_id": "claude-sonnet-4-5-20250929",
}

MODELS_PAGE_2 = {
    "data": [
        {
            "type": "model",
            "id": "claude-haiku-4-5-20251001",
            "display_name": "Claude Haiku 4.5",
            "created_at": "2025-10-01T00:00:00Z",
            "max_input_tokens": 200000,
            "max_tokens": 64000,
        }
    ],
    "has_more": False,
    "first_id": "claude-haiku-4-5-20251001",
    "last_id": "claude-haiku-4-5-20251001",
}


def _start(usage=None) -> dict:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [],
            "stop_reason": None,
            "usage": usage or {"input_tokens": 3, "output_tokens": 1},
        },
    }


def _delta(text: str, **extra) -> dict:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
        **extra,
    }


def _end(reason: str) -> dict:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": reason, "stop_sequence": None},
        "usage": {"output_tokens": 5},
    }
