"""The Ollama native adapter (/api/chat, NDJSON) against the documented
/api/chat, /api/tags, /api/ps and /api/show shapes, with the ollama-proxy-plus captures for NDJSON framing only
(its counts are not Ollama's). HTTP mocked with `responses`."""

from __future__ import annotations

import pytest
import responses
from adapter_helpers import (
    FAST,
    OPP_CHAT,
    OPP_CHAT_STREAM,
    OPP_UNKNOWN_MODEL,
    OPP_VERSION,
    adapter,
    ndjson,
    reset_caches,
    sent_json,
    trickle,
)

from rfctl.providers.base import ProviderError, Request

URL = "http://127.0.0.1:11434"
CHAT = f"{URL}/api/chat"


@pytest.fixture(autouse=True)
def _fresh():
    reset_caches()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


def ollama(**kw):
    kw.setdefault("model", "llama3.2:3b")
    return adapter("ollama", URL, **kw)


def stream(rsps, body, a=None):
    rsps.add("POST", CHAT, body=body, content_type="application/x-ndjson")
    got: list[str] = []
    result = (a or ollama()).generate(
        Request("Say hello in two words.", stream=True), FAST, got.append
    )
    return result, got


def stream_error(rsps, body) -> ProviderError:
    with pytest.raises(ProviderError) as e:
        stream(rsps, body)
    return e.value


def line(content: str, done: bool = False, **extra) -> dict:
    return {
        "model": "llama3.2:3b",
        "created_at": "2026-11-29T10:15:02.301Z",
        "message": {"role": "assistant", "content": content},
        "done": done,
        **extra,
    }


# ---------------------------------------------------------------- non-stream


def test_request_is_native_chat_with_options(rsps):
    rsps.add("POST", CHAT, json=RESPONSE)
    req = Request(
        "Say hello in two words.",
        system="You are terse.",
        temperature=0.2,
        max_tokens=32,
        stop=["\n"],
    )
    ollama().generate(req, FAST)
    call = rsps.calls[0]
    assert call.request.url == CHAT
    assert sent_json(call) == {
        "model": "llama3.2:3b",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello in two words."},
        ],
        "stream": False,  # explicit: the native API streams by default
        "options": {"temperature": 0.2, "num_predict": 32, "stop": ["\n"]},
    }
    assert "Authorization" not in call.request.headers


def test_no_options_when_none_are_set(rsps):
    rsps.add("POST", CHAT, json=RESPONSE)
    ollama().generate(Request("hi"), FAST)
    assert "options" not in sent_json(rsps.calls[0])


def test_response_is_parsed(rsps):
    rsps.add("POST", CHAT, json=RESPONSE)
    result = ollama().generate(Request("hi"), FAST)
    assert result.text == "Hello there."
    assert result.finish_reason == "stop"
    assert result.model == "llama3.2:3b"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (31, 4)
    assert result.usage.reported and result.usage.cached_input_tokens is None
    assert not result.stream and result.ttft_ms is None


def test_proxy_capture_non_stream(rsps):
    OPP_CHAT.add(rsps, CHAT)
    a = adapter("ollama", URL, model="local/gemma3-270m")
    result = a.generate(Request("Count to five.", max_tokens=12), FAST)
    assert sent_json(rsps.calls[0]) == {
        **OPP_CHAT.request,
        "messages": [{"role": "user", "content": "Count to five."}],
    }
    assert result.text == OPP_CHAT.json()["message"]["content"]
    assert result.finish_reason == "stop"


def test_counts_omitted_are_not_reported(rsps):
    # Ollama's Go types drop zero counts (omitempty); a cached prompt once lost its count.
    answer = {k: v for k, v in RESPONSE.items() if k not in ("prompt_eval_count", "eval_count")}
    rsps.add("POST", CHAT, json=answer)
    u = ollama().generate(Request("hi"), FAST).usage
    assert (u.input_tokens, u.output_tokens, u.reported) == (None, None, False)


def test_length_done_reason(rsps):
    rsps.add("POST", CHAT, json={**RESPONSE, "done_reason": "length"})
    assert ollama().generate(Request("hi"), FAST).finish_reason == "length"


def test_base_url_with_api_suffix_is_tolerated(rsps):
    rsps.add("POST", CHAT, json=RESPONSE)
    adapter("ollama", f"{URL}/api", model="m").generate(Request("hi"), FAST)
    assert rsps.calls[0].request.url == CHAT


def test_key_is_sent_as_bearer_for_the_hosted_api(rsps):
    rsps.add("POST", "https://ollama.com/api/chat", json=RESPONSE)
    adapter("ollama", "https://ollama.com", key="ol-secret-key-123456", model="m").generate(
        Request("hi"), FAST
    )
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer ol-secret-key-123456"


def test_model_comes_from_tags_when_none_is_configured(rsps):
    rsps.add("GET", f"{URL}/api/tags", json=TAGS)
    rsps.add("POST", CHAT, json=RESPONSE)
    a = adapter("ollama", URL)
    a.generate(Request("hi"), FAST)
    a.generate(Request("hi"), FAST)
    assert [c.request.url for c in rsps.calls] == [f"{URL}/api/tags", CHAT, CHAT]
    assert sent_json(rsps.calls[1])["model"] == "llama3.2:3b"


def test_no_model_pulled_is_not_found(rsps):
    rsps.add("GET", f"{URL}/api/tags", json={"models": []})
    with pytest.raises(ProviderError) as e:
        adapter("ollama", URL).generate(Request("hi"), FAST)
    assert e.value.kind == "not_found" and not e.value.transient


# ---------------------------------------------------------------- streaming


def test_stream_fixture(rsps):
    result, got = stream(rsps, STREAM)
    assert sent_json(rsps.calls[0])["stream"] is True
    assert got == ["Hello", " there", "."]
    assert result.text == "Hello there." and result.finish_reason == "stop"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (31, 4)
    assert result.stream and result.ttft_ms is not None and result.ttft_ms <= result.latency_ms


def test_proxy_stream_capture_framing(rsps):
    a = adapter("ollama", URL, model="local/gemma3-270m")
    result, got = stream(rsps, OPP_CHAT_STREAM.body, a)
    assert got[:3] == ["P", "ec", "eler"]
    assert result.text == "".join(got) == "Peceler\np.\nPeceler\nP"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (3, 9)
    assert result.model == "local/gemma3-270m"


def test_text_on_the_final_done_line_is_kept(rsps):
    body = ndjson(line("Hello"), line(" world", done=True, done_reason="stop", eval_count=2))
    result, got = stream(rsps, body)
    assert got == ["Hello", " world"] and result.text == "Hello world"
    assert result.usage.output_tokens == 2


def test_utf8_split_across_reads(rsps):
    text = ["Привет", ", ", "世界", " ✨"]
    body = ndjson(*[line(t) for t in text], line("", done=True, done_reason="stop"))
    result, got = stream(rsps, trickle(body, (1, 4, 2)))
    assert got == text and result.text == "".join(text)


def test_error_line_mid_stream(rsps):
    err = stream_error(rsps, MIDSTREAM_ERROR)
    assert err.kind == "stream" and err.transient
    assert err.partial_text == "Sure"
    assert err.message == "an error was encountered while running the model"
    assert err.status is None


def test_stream_without_done_is_cut(rsps):
    err = stream_error(rsps, ndjson(line("Hel"), line("lo")))
    assert err.kind == "stream" and err.transient and err.partial_text == "Hello"
    assert "done" in err.message


def test_malformed_line(rsps):
    err = stream_error(rsps, ndjson(line("a")) + '{"model": "x", "mess\n' + ndjson(line("b")))
    assert err.kind == "stream" and err.transient and "malformed" in err.message
    assert err.partial_text == "a"


def test_blank_lines_and_unknown_fields_are_ignored(rsps):
    body = (
        "\n"
        + ndjson(line("a", thinking_tokens=3, logprobs=[]))
        + "\n\n"
        + ndjson(line("", done=True, done_reason="stop", new_field={"x": 1}))
    )
    result, _ = stream(rsps, body)
    assert result.text == "a"


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "body", "kind", "transient"),
    [
        (404, {"error": "model 'llama3.2:1b' not found"}, "not_found", False),
        (404, {"error": 'model "llama3.2:1b" not found, try pulling it first'}, "not_found", False),
        (OPP_UNKNOWN_MODEL.status, OPP_UNKNOWN_MODEL.json(), "http", False),
        (400, {"error": '"llama3.2" does not support thinking'}, "http", False),
        (
            503,
            {"error": "server busy, please try again. maximum pending requests exceeded"},
            "http",
            True,
        ),
        (500, {"error": "llama runner process has terminated"}, "http", True),
    ],
)
def test_http_errors(rsps, status, body, kind, transient):
    rsps.add("POST", CHAT, json=body, status=status)
    with pytest.raises(ProviderError) as e:
        ollama().generate(Request("hi", stream=True), FAST)
    err = e.value
    assert (err.kind, err.transient, err.status) == (kind, transient, status)
    assert err.message == body["error"]


def test_error_in_a_200_body(rsps):
    rsps.add("POST", CHAT, json={"error": "unexpected EOF"})
    with pytest.raises(ProviderError) as e:
        ollama().generate(Request("hi"), FAST)
    assert e.value.kind == "stream" and e.value.message == "unexpected EOF"


# ---------------------------------------------------------------- health and models


def test_health_reads_the_version(rsps):
    OPP_VERSION.add(rsps, f"{URL}/api/version")
    h = ollama().health(2)
    assert h.ok and h.detail == "ollama 0.6.5"


def test_health_of_something_else_on_the_port(rsps):
    rsps.add(
        "GET",
        f"{URL}/api/version",
        status=404,
        json={"error": {"message": "File Not Found", "type": "not_found_error", "code": 404}},
    )
    h = ollama().health(2)
    assert not h.ok and "404" in h.detail


def test_list_models_with_loaded_and_trained_context(rsps):
    rsps.add("GET", f"{URL}/api/tags", json=TAGS)
    rsps.add("GET", f"{URL}/api/ps", json=PS)
    rsps.add(
        "POST",
        f"{URL}/api/show",
        json=show("llama", 131072),
        match=[responses.matchers.json_params_matcher({"model": "llama3.2:3b"})],
    )
    rsps.add(
        "POST",
        f"{URL}/api/show",
        json=show("qwen2", 32768),
        match=[responses.matchers.json_params_matcher({"model": "qwen2.5:7b"})],
    )
    models = {m.id: m for m in ollama().list_models(2)}
    loaded, idle = models["llama3.2:3b"], models["qwen2.5:7b"]
    assert (loaded.loaded, loaded.context, loaded.extra["context_train"]) == (True, 8192, 131072)
    assert (idle.loaded, idle.context) == (False, 32768)
    assert idle.extra["family"] == "qwen2"


def test_list_models_survives_missing_ps_and_show(rsps):
    rsps.add("GET", f"{URL}/api/tags", json=TAGS)
    rsps.add("GET", f"{URL}/api/ps", status=404, json={"error": "not found"})
    rsps.add("POST", f"{URL}/api/show", status=500, json={"error": "boom"})
    models = ollama().list_models(2)
    assert [(m.id, m.context, m.loaded) for m in models] == [
        ("llama3.2:3b", None, False),
        ("qwen2.5:7b", None, False),
    ]


# -------------------------------------------------------- fixtures (Ollama's documented shapes)

RESPONSE = {
    "model": "llama3.2:3b",
    "created_at": "2026-11-29T10:15:02.418733512Z",
    "message": {"role": "assistant", "content": "Hello there."},
    "done_reason": "stop",
    "done": True,
    "total_duration": 612345678,
    "load_duration": 41234567,
    "prompt_eval_count": 31,
    "prompt_eval_duration": 98765432,
    "eval_count": 4,
    "eval_duration": 45678901,
}

STREAM = """\
{"model":"llama3.2:3b","created_at":"2026-11-29T10:15:02.301Z","message":{"role":"assistant","content":"Hello"},"done":false}
{"model":"llama3.2:3b","created_at":"2026-11-29T10:15:02.313Z","message":{"role":"assistant","content":" there"},"done":false}
{"model":"llama3.2:3b","created_at":"2026-11-29T10:15:02.325Z","message":{"role":"assistant","content":"."},"done":false}
{"model":"llama3.2:3b","created_at":"2026-11-29T10:15:02.337Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":612345678,"load_duration":41234567,"prompt_eval_count":31,"prompt_eval_duration":98765432,"eval_count":4,"eval_duration":45678901}
"""

MIDSTREAM_ERROR = """\
{"model":"llama3.2:3b","created_at":"2026-11-29T10:16:00.100Z","message":{"role":"assistant","content":"Sure"},"done":false}
{"error":"an error was encountered while running the model"}
"""

_DETAILS = {
    "parent_model": "",
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "3.2B",
    "quantization_level": "Q4_K_M",
}
TAGS = {
    "models": [
        {
            "name": "llama3.2:3b",
            "model": "llama3.2:3b",
            "modified_at": "2026-11-20T10:00:00Z",
            "size": 2019393189,
            "digest": "a80c4f17acd5",
            "details": _DETAILS,
        },
        {
            "name": "qwen2.5:7b",
            "model": "qwen2.5:7b",
            "modified_at": "2026-11-01T10:00:00Z",
            "size": 4683087332,
            "digest": "845dbda0ea48",
            "details": {**_DETAILS, "family": "qwen2", "families": ["qwen2"]},
        },
    ]
}
PS = {
    "models": [
        {
            "name": "llama3.2:3b",
            "model": "llama3.2:3b",
            "size": 3500000000,
            "digest": "a80c4f17acd5",
            "details": _DETAILS,
            "expires_at": "2026-11-29T10:22:02.3Z",
            "size_vram": 3500000000,
            "context_length": 8192,
        }
    ]
}


def show(arch: str, context: int) -> dict:
    return {
        "modelfile": "# ...",
        "parameters": "stop <|eot_id|>",
        "template": "{{ .Prompt }}",
        "details": _DETAILS,
        "capabilities": ["completion"],
        "model_info": {
            "general.architecture": arch,
            f"{arch}.context_length": context,
            f"{arch}.embedding_length": 3072,
        },
    }
