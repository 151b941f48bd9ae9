"""The OpenAI-family adapter (openai, openai-compatible, vllm, lmstudio, localai,
llamacpp) against recorded llama-server / llama-cpp-python answers and the
documented API shapes of each server, HTTP mocked with `responses`."""

from __future__ import annotations

import json

import pytest
import responses
from adapter_helpers import (
    FAST,
    LCP_CHAT,
    LCP_CHAT_STREAM,
    LCP_ERR_500,
    LCP_MODELS,
    LS512_OVERFLOW,
    LS512_OVERFLOW_STREAM,
    LS_BAD_JSON,
    LS_CHAT,
    LS_CHAT_STREAM_NOUSAGE,
    LS_CHAT_STREAM_USAGE,
    LS_HEALTH,
    LS_NOT_FOUND,
    LS_PROPS,
    LS_V1_MODELS,
    SECRET,
    adapter,
    reset_caches,
    sent_json,
    sse,
    trickle,
)

from rfctl.providers.base import ProviderError, Request

LLAMA = "http://127.0.0.1:8080/v1"
OPENAI = "https://api.openai.com/v1"
VLLM = "http://127.0.0.1:8000/v1"
LMSTUDIO = "http://127.0.0.1:1234/v1"
LOCALAI = "http://127.0.0.1:8080/v1"


@pytest.fixture(autouse=True)
def _fresh():
    reset_caches()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


def chunk(content=None, finish=None, **extra) -> dict:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def stream_text(kind, body, url=LLAMA, **kw):
    """Run a streamed generate against `body`; return (result, pieces seen)."""
    got: list[str] = []
    a = adapter(kind, url, **kw)
    result = a.generate(Request("hi", stream=True), FAST, got.append)
    return result, got


# ---------------------------------------------------------------- non-stream


def test_llama_server_answer_is_parsed(rsps):
    LS_CHAT.add(rsps, f"{LLAMA}/chat/completions")
    req = Request("What is 2+2?", system="Answer briefly.", max_tokens=24, temperature=0)
    result = adapter("llamacpp").generate(req, FAST)
    expected = LS_CHAT.json()
    assert result.text == expected["choices"][0]["message"]["content"]
    assert result.finish_reason == "length"
    assert result.model == "gemma-3-270m-q4_k_m.gguf"
    assert result.response_id == expected["id"]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (47, 24)
    assert result.usage.cached_input_tokens == 0
    assert result.usage.reported and result.usage.source == "provider"
    assert result.stream is False and result.ttft_ms is None
    assert result.latency_ms > 0 and result.http_status == 200


def test_request_matches_what_the_server_was_sent(rsps):
    LS_CHAT.add(rsps, f"{LLAMA}/chat/completions")
    req = Request("What is 2+2?", system="Answer briefly.", max_tokens=24, temperature=0)
    adapter("llamacpp", model="gemma-3-270m-q4_k_m.gguf").generate(req, FAST)
    assert sent_json(rsps.calls[0]) == LS_CHAT.request


def test_llamacpp_without_a_model_sends_default_and_no_key_no_auth(rsps):
    LS_CHAT.add(rsps, f"{LLAMA}/chat/completions")
    adapter("llamacpp").generate(Request("hi"), FAST)
    [call] = rsps.calls  # no GET /models first: llama-server ignores the name
    body = sent_json(call)
    assert body["model"] == "default"
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "temperature" not in body and "max_tokens" not in body and "stop" not in body
    assert "stream" not in body
    assert "Authorization" not in call.request.headers
    assert call.request.headers["Content-Type"] == "application/json"


def test_openai_sends_max_completion_tokens_bearer_and_stop(rsps):
    rsps.add("POST", f"{OPENAI}/chat/completions", json=OPENAI_RESPONSE)
    req = Request(
        "Say hello in two words.",
        system="You are terse.",
        max_tokens=32,
        temperature=0.2,
        stop=["\n\n", "END"],
    )
    result = adapter("openai", key=SECRET, model="gpt-4o-mini").generate(req, FAST)
    call = rsps.calls[0]
    body = sent_json(call)
    assert body["max_completion_tokens"] == 32 and "max_tokens" not in body
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert body["temperature"] == 0.2
    assert body["stop"] == ["\n\n", "END"]
    assert call.request.headers["Authorization"] == f"Bearer {SECRET}"
    assert result.text == "Hello there."
    assert result.model == "gpt-4o-mini-2024-07-18"  # the snapshot, not the alias
    assert result.finish_reason == "stop"


@pytest.mark.parametrize("kind", ["vllm", "lmstudio", "localai", "openai-compatible", "llamacpp"])
def test_compatible_kinds_send_max_tokens(rsps, kind):
    rsps.add("POST", "http://h/v1/chat/completions", json=OPENAI_RESPONSE)
    adapter(kind, "http://h/v1", model="m").generate(Request("hi", max_tokens=16), FAST)
    body = sent_json(rsps.calls[0])
    assert body["max_tokens"] == 16 and "max_completion_tokens" not in body


def test_openai_usage_mapping_with_cache_and_reasoning(rsps):
    answer = json.loads(json.dumps(OPENAI_RESPONSE))
    answer["usage"] = {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 192},
    }
    rsps.add("POST", f"{OPENAI}/chat/completions", json=answer)
    u = adapter("openai", key=SECRET, model="o4-mini").generate(Request("hi"), FAST).usage
    # prompt_tokens already includes the cached ones: not added twice.
    assert (u.input_tokens, u.cached_input_tokens) == (2006, 1920)
    assert (u.output_tokens, u.reasoning_tokens) == (300, 192)
    assert u.reported


def test_usage_details_may_be_null_or_missing(rsps):
    answer = {
        "id": "x",
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "ok", "reasoning_content": None},
                "finish_reason": "stop",
                "stop_reason": None,
            }
        ],
        "usage": {
            "prompt_tokens": 34,
            "total_tokens": 38,
            "completion_tokens": 4,
            "prompt_tokens_details": None,
        },
    }
    rsps.add("POST", f"{VLLM}/chat/completions", json=answer)
    u = adapter("vllm", model="Qwen/Qwen2.5-7B-Instruct").generate(Request("hi"), FAST).usage
    assert (u.input_tokens, u.output_tokens, u.cached_input_tokens) == (34, 4, None)


def test_no_usage_at_all_is_not_reported(rsps):
    rsps.add(
        "POST",
        f"{LOCALAI}/chat/completions",
        json={"choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}]},
    )
    result = adapter("localai", model="m").generate(Request("hi"), FAST)
    assert result.usage.reported is False and result.usage.input_tokens is None
    assert result.model == "m"  # the server named none: the one asked for


def test_llama_cpp_python_answer_with_empty_content(rsps):
    LCP_CHAT.add(rsps, "http://127.0.0.1:8000/v1/chat/completions")
    result = adapter("openai-compatible", "http://127.0.0.1:8000/v1", model="g").generate(
        Request("What is 2+2?"), FAST
    )
    assert result.text == LCP_CHAT.json()["choices"][0]["message"]["content"]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (26, 24)
    assert result.usage.cached_input_tokens is None


# ---------------------------------------------------------------- streaming


def test_llama_server_stream_with_usage(rsps):
    LS_CHAT_STREAM_USAGE.add(rsps, f"{LLAMA}/chat/completions")
    result, got = stream_text("llamacpp", None)
    body = sent_json(rsps.calls[0])
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    # The first delta has content null: no empty piece, no crash.
    assert got[:4] == ["What", " is", " ", "2"]
    assert "".join(got) == result.text == "What is 2+2?\n<|im_end|>\n<|im_start|>\n<|"
    assert result.finish_reason == "length"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (30, 24)
    assert result.usage.reported
    assert result.stream is True
    assert result.response_id == "chatcmpl-ESNvo11hSZkkdo15ymZOj9PDbQEs2CVn"
    assert result.ttft_ms is not None and 0 <= result.ttft_ms <= result.latency_ms


def test_llama_server_stream_without_usage_counts_from_timings(rsps):
    LS_CHAT_STREAM_NOUSAGE.add(rsps, f"{LLAMA}/chat/completions")
    result, got = stream_text("llamacpp", None)
    assert "".join(got) == result.text and result.text
    # timings: prompt_n 5 evaluated + cache_n 25 reused; predicted_n 24.
    u = result.usage
    assert (u.input_tokens, u.output_tokens, u.cached_input_tokens) == (30, 24, 25)
    assert u.reported


def test_llama_cpp_python_stream_without_content_or_usage(rsps):
    LCP_CHAT_STREAM.add(rsps, "http://h/v1/chat/completions")
    result, got = stream_text("openai-compatible", None, "http://h/v1", model="g")
    assert got == [] and result.text == ""
    assert result.finish_reason == "stop"
    assert result.usage.reported is False
    assert result.ttft_ms is None


def test_openai_stream_fixture_with_unknown_fields_and_usage_chunk(rsps):
    rsps.add(
        "POST", f"{OPENAI}/chat/completions", body=OPENAI_STREAM, content_type="text/event-stream"
    )
    result, got = stream_text("openai", None, OPENAI, key=SECRET, model="gpt-4o-mini")
    assert got == ["Hello", " there."]
    assert result.text == "Hello there." and result.finish_reason == "stop"
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (22, 3)
    assert result.usage.cached_input_tokens == 0


def test_comments_pings_blank_lines_and_crlf_are_ignored(rsps):
    body = (
        ": ping\r\n\r\n"
        + sse(chunk("a"), done=False).replace("\n", "\r\n")
        + ": keep-alive\n\n"
        + "event: message\n"
        + sse(chunk("b", "stop"), done=False)
        + "\n\n"
        + "data: [DONE]"
    )
    rsps.add("POST", f"{VLLM}/chat/completions", body=body, content_type="text/event-stream")
    result, got = stream_text("vllm", None, VLLM, model="m")
    assert got == ["a", "b"] and result.finish_reason == "stop"


def test_utf8_split_across_reads_is_reassembled(rsps):
    text = ["Grüße, ", "東京 ", "🎉", " naïve — ok"]
    body = sse(*[chunk(t) for t in text], chunk(finish="stop"))
    rsps.add(
        "POST", f"{LLAMA}/chat/completions", body=trickle(body), content_type="text/event-stream"
    )
    result, got = stream_text("llamacpp", None)
    assert got == text
    assert result.text == "".join(text)


def test_vllm_running_usage_keeps_the_last(rsps):
    body = sse(
        chunk("a", usage={"prompt_tokens": 5, "completion_tokens": 1}),
        chunk("b", "stop", usage={"prompt_tokens": 5, "completion_tokens": 2}),
    )
    rsps.add("POST", f"{VLLM}/chat/completions", body=body, content_type="text/event-stream")
    result, _ = stream_text("vllm", None, VLLM, model="m")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (5, 2)


def test_other_choices_are_ignored(rsps):
    second = {"index": 1, "delta": {"content": "X"}, "finish_reason": None}
    body = sse({**chunk("a"), "choices": [chunk("a")["choices"][0], second]}, chunk(finish="stop"))
    rsps.add("POST", f"{LLAMA}/chat/completions", body=body, content_type="text/event-stream")
    result, _ = stream_text("llamacpp", None)
    assert result.text == "a"


def test_stream_with_finish_but_no_done_is_complete(rsps):
    body = sse(chunk("Hello"), chunk(finish="stop"), done=False)
    rsps.add("POST", f"{LLAMA}/chat/completions", body=body, content_type="text/event-stream")
    result, _ = stream_text("llamacpp", None)
    assert result.text == "Hello" and result.finish_reason == "stop"


def test_stream_cut_before_finish_is_a_transient_error_with_partial_text(rsps):
    body = sse(chunk("Hel"), chunk("lo"), done=False)
    rsps.add("POST", f"{LLAMA}/chat/completions", body=body, content_type="text/event-stream")
    got: list[str] = []
    with pytest.raises(ProviderError) as e:
        adapter("llamacpp").generate(Request("hi", stream=True), FAST, got.append)
    assert e.value.kind == "stream" and e.value.transient
    assert e.value.partial_text == "Hello" == "".join(got)
    assert "[DONE]" in e.value.message


def test_empty_200_stream_is_cut(rsps):
    # llama-cpp-python answers a context overflow in a stream with 200 and no body.
    rsps.add("POST", "http://h/v1/chat/completions", body=b"", content_type="text/event-stream")
    with pytest.raises(ProviderError) as e:
        stream_text("openai-compatible", None, "http://h/v1", model="g")
    assert e.value.kind == "stream" and e.value.partial_text == ""


def test_error_event_mid_stream_localai(rsps):
    err = {
        "error": {
            "message": "rpc error: code = Unavailable desc = error reading from server: EOF",
            "type": "server_error",
            "code": "server_error",
        }
    }
    body = sse(chunk("Hello"), err)
    rsps.add("POST", f"{LOCALAI}/chat/completions", body=body, content_type="text/event-stream")
    with pytest.raises(ProviderError) as e:
        stream_text("localai", None, LOCALAI, model="m")
    assert e.value.kind == "stream" and e.value.transient
    assert e.value.partial_text == "Hello"
    assert e.value.provider_type == "server_error"
    assert "rpc error" in e.value.message
    assert e.value.status is None  # the HTTP status was 200


def test_legacy_llama_cpp_error_line_is_a_context_error(rsps):
    # Builds before PR #16109 sent a non-standard `error:` field, then [DONE].
    body = (
        'error: {"code":400,"message":"the request exceeds the available context size. '
        'try increasing the context size or enable context shift",'
        '"type":"invalid_request_error"}\n\ndata: [DONE]\n\n'
    )
    rsps.add("POST", f"{LLAMA}/chat/completions", body=body, content_type="text/event-stream")
    with pytest.raises(ProviderError) as e:
        stream_text("llamacpp", None)
    assert e.value.kind == "context" and not e.value.transient


def test_new_llama_cpp_error_data_mid_stream(rsps):
    err = {"error": {"code": 500, "message": "slot crashed", "type": "server_error"}}
    rsps.add(
        "POST",
        f"{LLAMA}/chat/completions",
        body=sse(chunk("x"), err),
        content_type="text/event-stream",
    )
    with pytest.raises(ProviderError) as e:
        stream_text("llamacpp", None)
    assert e.value.kind == "stream" and e.value.transient and e.value.partial_text == "x"


def test_malformed_chunk_is_a_transient_stream_error(rsps):
    body = sse(chunk("ok "), '{"choices": [{"delta": {"content": "x"', chunk(finish="stop"))
    rsps.add("POST", f"{LLAMA}/chat/completions", body=body, content_type="text/event-stream")
    with pytest.raises(ProviderError) as e:
        stream_text("llamacpp", None)
    assert e.value.kind == "stream" and e.value.transient
    assert "malformed" in e.value.message and e.value.partial_text == "ok "


def test_content_filter_is_a_refusal(rsps):
    rsps.add(
        "POST",
        f"{OPENAI}/chat/completions",
        body=sse(chunk("I can"), chunk(finish="content_filter")),
        content_type="text/event-stream",
    )
    with pytest.raises(ProviderError) as e:
        stream_text("openai", None, OPENAI, key=SECRET, model="gpt-4o")
    assert e.value.kind == "refusal" and not e.value.transient
    assert e.value.partial_text == "I can" and "content_filter" in e.value.message


def test_message_refusal_without_content_is_a_refusal(rsps):
    answer = json.loads(json.dumps(OPENAI_RESPONSE))
    answer["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "refusal": "I'm sorry, I can't help with that.",
    }
    rsps.add("POST", f"{OPENAI}/chat/completions", json=answer)
    with pytest.raises(ProviderError) as e:
        adapter("openai", key=SECRET, model="gpt-4o").generate(Request("hi"), FAST)
    assert e.value.kind == "refusal" and "can't help" in e.value.message


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "transient", "ptype"),
    [
        (
            LS512_OVERFLOW.status,
            LS512_OVERFLOW.json(),
            {},
            "context",
            False,
            "exceed_context_size_error",
        ),
        (LS_BAD_JSON.status, LS_BAD_JSON.json(), {}, "http", False, "invalid_request_error"),
        (404, LS_NOT_FOUND.json(), {}, "not_found", False, "not_found_error"),
        (
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 8192 tokens. "
                    "However, you requested 8203 tokens",
                    "type": "BadRequestError",
                    "param": None,
                    "code": 400,
                }
            },
            {},
            "context",
            False,
            "BadRequestError",
        ),
        (
            404,
            {
                "object": "error",
                "message": "The model `qwen2.5-7b` does not exist.",
                "type": "NotFoundError",
                "param": None,
                "code": 404,
            },
            {},
            "not_found",
            False,
            "NotFoundError",
        ),
        (401, {"error": "Unauthorized"}, {}, "auth", False, None),
        (
            429,
            {
                "error": {
                    "message": "You exceeded your current quota",
                    "type": "insufficient_quota",
                    "param": None,
                    "code": "insufficient_quota",
                }
            },
            {},
            "quota",
            False,
            "insufficient_quota",
        ),
        (
            429,
            {
                "error": {
                    "message": "Rate limit reached for requests. Please try again in 1.85s.",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            },
            {"retry-after": "2", "retry-after-ms": "1850"},
            "rate_limit",
            True,
            "requests",
        ),
        (
            503,
            {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}},
            {"Retry-After": "10"},
            "http",
            True,
            "unavailable_error",
        ),
        (
            404,
            {
                "error": {
                    "message": "No models loaded. Please load a model in the developer "
                    "page or use the `lms load` command.",
                    "type": "invalid_request_error",
                    "param": "model",
                    "code": "model_not_found",
                }
            },
            {},
            "not_found",
            False,
            "invalid_request_error",
        ),
    ],
)
def test_http_errors_are_classified(rsps, status, body, headers, kind, transient, ptype):
    rsps.add("POST", f"{LLAMA}/chat/completions", json=body, status=status, headers=headers)
    with pytest.raises(ProviderError) as e:
        adapter("llamacpp").generate(Request("hi"), FAST)
    err = e.value
    assert (err.kind, err.transient, err.status, err.provider_type) == (
        kind,
        transient,
        status,
        ptype,
    )
    assert err.message and err.accepted
    if "retry-after-ms" in headers:
        assert err.retry_after == pytest.approx(1.85)


def test_context_overflow_on_a_stream_request_is_plain_json(rsps):
    LS512_OVERFLOW_STREAM.add(rsps, f"{LLAMA}/chat/completions")
    with pytest.raises(ProviderError) as e:
        stream_text("llamacpp", None)
    assert e.value.kind == "context" and e.value.status == 400
    assert "exceeds the available context size" in str(e.value)


def test_text_plain_500_is_transient(rsps):
    LCP_ERR_500.add(rsps, "http://h/v1/chat/completions")
    with pytest.raises(ProviderError) as e:
        adapter("openai-compatible", "http://h/v1", model="g").generate(Request("hi"), FAST)
    assert (e.value.kind, e.value.status, e.value.transient) == ("http", 500, True)
    assert e.value.message == "Internal Server Error"


def test_error_object_in_a_200_body(rsps):
    rsps.add(
        "POST",
        f"{LLAMA}/chat/completions",
        json={"error": {"code": 500, "message": "boom", "type": "server_error"}},
    )
    with pytest.raises(ProviderError) as e:
        adapter("llamacpp").generate(Request("hi"), FAST)
    assert e.value.kind == "stream" and e.value.message == "boom"


def test_non_json_200_body_is_a_bad_response(rsps):
    rsps.add("POST", f"{LLAMA}/chat/completions", body="<html>proxy</html>")
    with pytest.raises(ProviderError) as e:
        adapter("llamacpp").generate(Request("hi"), FAST)
    assert e.value.kind == "bad_response"


def test_the_key_never_appears_in_errors(rsps):
    body = {
        "error": {
            "message": f"Incorrect API key provided: {SECRET}. You can find your "
            "API key at https://platform.openai.com.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    rsps.add("POST", f"{OPENAI}/chat/completions", json=body, status=401)
    with pytest.raises(ProviderError) as e:
        adapter("openai", key=SECRET, model="gpt-4o").generate(Request("hi"), FAST)
    err = e.value
    assert err.kind == "auth" and not err.transient
    for text in (str(err), err.message, repr(err), err.short(), repr(err.args)):
        assert SECRET not in text
    assert "[redacted]" in err.message


def test_the_key_is_not_in_the_adapter_repr():
    assert SECRET not in repr(adapter("openai", key=SECRET, model="gpt-4o"))


# ---------------------------------------------------------------- model discovery


def test_vllm_without_a_model_asks_models_once(rsps):
    rsps.add("GET", f"{VLLM}/models", json=VLLM_MODELS)
    rsps.add("POST", f"{VLLM}/chat/completions", json=OPENAI_RESPONSE)
    a = adapter("vllm", VLLM)
    a.generate(Request("hi"), FAST)
    a.generate(Request("again"), FAST)
    paths = [c.request.method + " " + c.request.url for c in rsps.calls]
    assert paths == [
        f"GET {VLLM}/models",
        f"POST {VLLM}/chat/completions",
        f"POST {VLLM}/chat/completions",
    ]
    assert sent_json(rsps.calls[1])["model"] == "Qwen/Qwen2.5-7B-Instruct"


def test_the_discovered_model_is_shared_per_server_until_forgotten(rsps):
    rsps.add("GET", f"{VLLM}/models", json=VLLM_MODELS)
    rsps.add("POST", f"{VLLM}/chat/completions", json=OPENAI_RESPONSE)
    adapter("vllm", VLLM).generate(Request("hi"), FAST)
    adapter("vllm", VLLM).generate(Request("hi"), FAST)  # a new adapter, same server
    reset_caches()
    adapter("vllm", VLLM).generate(Request("hi"), FAST)
    gets = [c for c in rsps.calls if c.request.method == "GET"]
    assert len(gets) == 2


def test_an_empty_model_list_is_asked_again_next_time(rsps):
    rsps.add("GET", f"{LOCALAI}/models", json={"object": "list", "data": []})
    for _ in range(2):
        with pytest.raises(ProviderError):
            adapter("localai", LOCALAI).generate(Request("hi"), FAST)
    assert len(rsps.calls) == 2


def test_lmstudio_picks_the_first_chat_model(rsps):
    listing = {
        "object": "list",
        "data": [
            {"id": "text-embedding-nomic-embed-text-v1.5", "object": "model"},
            {"id": "qwen2.5-7b-instruct", "object": "model"},
        ],
    }
    rsps.add("GET", f"{LMSTUDIO}/models", json=listing)
    rsps.add("POST", f"{LMSTUDIO}/chat/completions", json=OPENAI_RESPONSE)
    adapter("lmstudio", LMSTUDIO).generate(Request("hi"), FAST)
    assert sent_json(rsps.calls[1])["model"] == "qwen2.5-7b-instruct"


def test_llama_cpp_python_model_list_is_used(rsps):
    LCP_MODELS.add(rsps, "http://h/v1/models")
    LCP_CHAT.add(rsps, "http://h/v1/chat/completions")
    adapter("openai-compatible", "http://h/v1").generate(Request("hi"), FAST)
    assert sent_json(rsps.calls[1])["model"] == "gemma-3-270m-q4_k_m.gguf"


def test_openai_without_a_model_fails_before_sending(rsps):
    with pytest.raises(ProviderError) as e:
        adapter("openai", key=SECRET).generate(Request("hi"), FAST)
    assert e.value.kind == "not_found" and not e.value.transient
    assert len(rsps.calls) == 0


def test_empty_model_list_is_not_found(rsps):
    rsps.add("GET", f"{LOCALAI}/models", json={"object": "list", "data": []})
    with pytest.raises(ProviderError) as e:
        adapter("localai", LOCALAI).generate(Request("hi"), FAST)
    assert e.value.kind == "not_found"


# ---------------------------------------------------------------- stream_options


def test_generic_server_that_rejects_stream_options_is_asked_again_without(rsps):
    strict = {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "stream_options"],
                "msg": "Extra inputs are not permitted",
            }
        ]
    }
    url = "http://strict/v1/chat/completions"
    rsps.add("POST", url, json=strict, status=422)
    rsps.add("POST", url, body=sse(chunk("ok", "stop")), content_type="text/event-stream")
    rsps.add("POST", url, body=sse(chunk("ok", "stop")), content_type="text/event-stream")
    a = adapter("openai-compatible", "http://strict/v1", model="m")
    assert a.generate(Request("hi", stream=True), FAST).text == "ok"
    assert a.generate(Request("hi", stream=True), FAST).text == "ok"
    sent = [sent_json(c) for c in rsps.calls]
    assert ["stream_options" in s for s in sent] == [True, False, False]  # remembered


def test_known_kinds_do_not_retry_a_400(rsps):
    rsps.add(
        "POST",
        f"{VLLM}/chat/completions",
        status=400,
        json={"error": {"message": "bad", "type": "BadRequestError", "code": 400}},
    )
    with pytest.raises(ProviderError):
        stream_text("vllm", None, VLLM, model="m")
    assert len(rsps.calls) == 1


# ---------------------------------------------------------------- health and models


def test_llamacpp_health_is_the_root_health_endpoint(rsps):
    LS_HEALTH.add(rsps, "http://127.0.0.1:8080/health")
    h = adapter("llamacpp").health(2)
    assert h.ok and h.detail == "ok" and h.latency_ms >= 0
    assert rsps.calls[0].request.url == "http://127.0.0.1:8080/health"


def test_llamacpp_loading_is_not_healthy(rsps):
    rsps.add(
        "GET",
        "http://127.0.0.1:8080/health",
        status=503,
        json={"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}},
    )
    h = adapter("llamacpp").health(2)
    assert not h.ok and "Loading model" in h.detail and "503" in h.detail


@pytest.mark.parametrize("body", [b"", b"OK"])
def test_vllm_health_any_200(rsps, body):
    rsps.add("GET", "http://127.0.0.1:8000/health", body=body)
    assert adapter("vllm").health(2).ok


def test_localai_readyz_starting(rsps):
    rsps.add(
        "GET",
        "http://127.0.0.1:8080/readyz",
        status=503,
        json={"status": "starting", "reason": "startup preload in progress"},
    )
    h = adapter("localai").health(2)
    assert not h.ok and "503" in h.detail


@pytest.mark.parametrize("kind", ["lmstudio", "openai", "openai-compatible"])
def test_listing_kinds_report_models_in_health(rsps, kind):
    rsps.add("GET", "http://h/v1/models", json=VLLM_MODELS)
    h = adapter(kind, "http://h/v1", key=SECRET if kind == "openai" else None).health(2)
    assert h.ok and h.models == ["Qwen/Qwen2.5-7B-Instruct"]
    auth = rsps.calls[0].request.headers.get("Authorization")
    assert auth == (f"Bearer {SECRET}" if kind == "openai" else None)


def test_openai_health_without_a_valid_key(rsps):
    rsps.add(
        "GET",
        f"{OPENAI}/models",
        status=401,
        json={
            "error": {
                "message": "Incorrect API key provided: sk-abc***xyz",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        },
    )
    h = adapter("openai", key=SECRET).health(2)
    assert not h.ok and h.detail.startswith("http 401")


def test_vllm_models_have_their_context(rsps):
    rsps.add("GET", f"{VLLM}/models", json=VLLM_MODELS)
    [m] = adapter("vllm", VLLM).list_models(2)
    assert (m.id, m.context) == ("Qwen/Qwen2.5-7B-Instruct", 32768)
    assert m.extra["owned_by"] == "vllm"


def test_llama_server_models_use_the_runtime_context(rsps):
    LS_V1_MODELS.add(rsps, f"{LLAMA}/models")
    [m] = adapter("llamacpp").list_models(2)
    assert m.id == "gemma-3-270m-q4_k_m.gguf"
    assert m.context == 2048 and m.extra["context_train"] == 32768
    assert len(rsps.calls) == 1  # meta.n_ctx was there: no /props needed


def test_older_llama_server_context_comes_from_props(rsps):
    older = {
        "object": "list",
        "data": [
            {
                "id": "qwen2.5-7b-instruct",
                "object": "model",
                "owned_by": "llamacpp",
                "meta": {"n_ctx_train": 32768},
            }
        ],
    }
    rsps.add("GET", f"{LLAMA}/models", json=older)
    LS_PROPS.add(rsps, "http://127.0.0.1:8080/props")
    [m] = adapter("llamacpp").list_models(2)
    assert m.context == 2048 and m.extra["context_train"] == 32768


def test_lmstudio_models_say_which_are_loaded(rsps):
    rsps.add("GET", "http://127.0.0.1:1234/api/v0/models", json=LMSTUDIO_V0_MODELS)
    models = adapter("lmstudio").list_models(2)
    assert [(m.id, m.loaded, m.context) for m in models] == [
        ("qwen2.5-7b-instruct", True, 32768),
        ("text-embedding-nomic-embed-text-v1.5", False, 2048),
    ]


def test_lmstudio_without_v0_falls_back_to_v1_models(rsps):
    rsps.add(
        "GET",
        "http://127.0.0.1:1234/api/v0/models",
        status=404,
        json={"error": "Unexpected endpoint or method."},
    )
    rsps.add("GET", f"{LMSTUDIO}/models", json=VLLM_MODELS)
    assert [m.id for m in adapter("lmstudio").list_models(2)] == ["Qwen/Qwen2.5-7B-Instruct"]


def test_list_models_failure_raises(rsps):
    rsps.add("GET", f"{OPENAI}/models", status=401, json={"error": {"message": "no"}})
    with pytest.raises(ProviderError) as e:
        adapter("openai", key=SECRET).list_models(2)
    assert e.value.kind == "auth"


# ------------------------------------------------- fixtures (each API's documented shapes)

OPENAI_RESPONSE = {
    "id": "chatcmpl-CkT1x9aQpZfK3mB7",
    "object": "chat.completion",
    "created": 1764374400,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello there.",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 22,
        "completion_tokens": 3,
        "total_tokens": 25,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_5a1b2c3d4e",
}

_HEAD = (
    '{"id":"chatcmpl-CkT1x9","object":"chat.completion.chunk","created":1764374400,'
    '"model":"gpt-4o-mini-2024-07-18","service_tier":"default",'
    '"system_fingerprint":"fp_5a1b2c3d4e",'
)
OPENAI_STREAM = (
    f'data: {_HEAD}"choices":[{{"index":0,"delta":{{"role":"assistant","content":"",'
    '"refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"k3Jd"}\n\n'
    f'data: {_HEAD}"choices":[{{"index":0,"delta":{{"content":"Hello"}},"logprobs":null,'
    '"finish_reason":null}],"usage":null,"obfuscation":"Qe"}\n\n'
    f'data: {_HEAD}"choices":[{{"index":0,"delta":{{"content":" there."}},"logprobs":null,'
    '"finish_reason":null}],"usage":null,"obfuscation":"x"}\n\n'
    f'data: {_HEAD}"choices":[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"stop"}}],'
    '"usage":null}\n\n'
    f'data: {_HEAD}"choices":[],"usage":{{"prompt_tokens":22,"completion_tokens":3,'
    '"total_tokens":25,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},'
    '"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,'
    '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}\n\n'
    "data: [DONE]\n\n"
)

VLLM_MODELS = {
    "object": "list",
    "data": [
        {
            "id": "Qwen/Qwen2.5-7B-Instruct",
            "object": "model",
            "created": 1764374400,
            "owned_by": "vllm",
            "root": "Qwen/Qwen2.5-7B-Instruct",
            "parent": None,
            "max_model_len": 32768,
            "permission": [{"id": "modelperm-1", "object": "model_permission"}],
        }
    ],
}

LMSTUDIO_V0_MODELS = {
    "object": "list",
    "data": [
        {
            "id": "qwen2.5-7b-instruct",
            "object": "model",
            "type": "llm",
            "publisher": "lmstudio-community",
            "arch": "qwen2",
            "compatibility_type": "gguf",
            "quantization": "Q4_K_M",
            "state": "loaded",
            "max_context_length": 32768,
        },
        {
            "id": "text-embedding-nomic-embed-text-v1.5",
            "object": "model",
            "type": "embeddings",
            "publisher": "nomic-ai",
            "arch": "nomic-bert",
            "compatibility_type": "gguf",
            "quantization": "Q4_0",
            "state": "not-loaded",
            "max_context_length": 2048,
        },
    ],
}
