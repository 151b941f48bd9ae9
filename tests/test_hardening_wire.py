"""What servers really send, and what rfctl makes of it: surrogate pairs cut
between chunks, a JSON answer to a stream request, HTML error pages, and a 400
that must reach the provider once. Each wire (OpenAI SSE, Anthropic SSE,
Ollama NDJSON, plain JSON) mocked with `responses`; the command itself
against a local socket server."""

from __future__ import annotations

import json

import pytest
import responses
from adapter_helpers import (
    FAST,
    LocalServer,
    adapter,
    events,
    ndjson,
    reset_caches,
    response_head,
    sse,
    trickle,
)

from rfctl import console
from rfctl.providers.base import ProviderError, Request

OPENAI = "http://127.0.0.1:8080/v1"
ANTHROPIC = "http://127.0.0.1:8080"
OLLAMA = "http://127.0.0.1:11434"
EMOJI = "\U0001f600"  # 😀, sent as the JSON escapes "\ud83d\ude00"


@pytest.fixture(autouse=True)
def _fresh():
    reset_caches()
    console.reset()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


# ---------------------------------------------------------------- the three wires, as data


def openai_stream(*texts: str) -> str:
    chunks = [
        {"model": "m", "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]}
        for t in texts
    ]
    chunks.append({"model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return sse(*chunks)


def anthropic_stream(*texts: str) -> str:
    deltas = [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
        )
        for t in texts
    ]
    return events(
        ("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "m"}}),
        *deltas,
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
        ("message_stop", {"type": "message_stop"}),
    )


def ollama_stream(*texts: str) -> str:
    recs = [
        {"model": "m", "message": {"role": "assistant", "content": t}, "done": False} for t in texts
    ]
    recs.append({"model": "m", "message": {"content": ""}, "done": True, "done_reason": "stop"})
    return ndjson(*recs)


def openai_json(text: str) -> dict:
    return {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "message": {"content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2},
    }


def anthropic_json(text: str) -> dict:
    return {
        "id": "msg_1",
        "type": "message",
        "model": "m",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }


def ollama_json(text: str) -> dict:
    return {
        "model": "m",
        "message": {"role": "assistant", "content": text},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 3,
        "eval_count": 2,
    }


# kind, base_url, generate URL, stream builder, stream content type, JSON answer builder
WIRES = {
    "openai": ("llamacpp", OPENAI, f"{OPENAI}/chat/completions", openai_stream, "text/event-stream", openai_json),
    "anthropic": ("anthropic", ANTHROPIC, f"{ANTHROPIC}/v1/messages", anthropic_stream, "text/event-stream", anthropic_json),
    "ollama": ("ollama", OLLAMA, f"{OLLAMA}/api/chat", ollama_stream, "application/x-ndjson", ollama_json),
}  # fmt: skip


def streamed(rsps, wire: str, body: str | bytes, content_type: str | None = None):
    """A streamed generate against `body`: (result, the pieces relayed)."""
    kind, base, url, _, ctype, _ = WIRES[wire]
    rsps.add("POST", url, body=trickle(body), content_type=content_type or ctype)
    got: list[str] = []
    result = adapter(kind, base, model="m").generate(Request("hi", stream=True), FAST, got.append)
    return result, got


def stream_failure(rsps, wire: str, body: str, content_type: str | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as e:
        streamed(rsps, wire, body, content_type)
    return e.value


def assert_printable(result, got) -> None:
    """What was relayed and what was kept are the same valid Unicode."""
    assert "".join(got) == result.text
    for piece in [*got, result.text]:
        piece.encode("utf-8")  # raises on a lone surrogate


# ---------------------------------------------------------------- surrogate pairs


@pytest.mark.parametrize("wire", WIRES)
def test_a_surrogate_pair_split_between_chunks_is_joined(rsps, wire, capsys):
    result, got = streamed(rsps, wire, WIRES[wire][3]("smile ", "\ud83d", "\ude00", "!"))
    assert result.text == f"smile {EMOJI}!"
    assert_printable(result, got)
    assert "surrogate" not in capsys.readouterr().err


@pytest.mark.parametrize("wire", WIRES)
def test_a_pair_split_inside_chunks_is_joined(rsps, wire):
    result, got = streamed(rsps, wire, WIRES[wire][3]("a\ud83d", "\ude00b"))
    assert result.text == f"a{EMOJI}b"
    assert_printable(result, got)


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize(
    "texts, expected",
    [
        (("x\ud83d", "y"), "x\ufffdy"),  # a high surrogate with no pair
        (("x", "\ude00y"), "x\ufffdy"),  # a low one alone
        (("x\ud83d",), "x\ufffd"),  # the stream ends waiting for the pair
    ],
)
def test_a_lone_surrogate_becomes_a_replacement_character_with_a_warning(
    rsps, wire, texts, expected, capsys
):
    result, got = streamed(rsps, wire, WIRES[wire][3](*texts))
    assert result.text == expected
    assert_printable(result, got)
    err = capsys.readouterr().err
    assert err.count("rfctl: warning:") == 1 and "surrogate" in err


@pytest.mark.parametrize("wire", WIRES)
def test_a_non_streamed_answer_with_a_lone_surrogate_is_printable(rsps, wire, capsys):
    kind, base, url, _, _, answer = WIRES[wire]
    rsps.add("POST", url, json=answer(f"{EMOJI} and \ud83d alone"))
    result = adapter(kind, base, model="m").generate(Request("hi"), FAST)
    assert result.text == f"{EMOJI} and \ufffd alone"
    assert "surrogate" in capsys.readouterr().err


def test_the_pair_split_is_joined_by_the_real_command(rfctl, write_config, tmp_path):
    """Single-prompt generate, in each output mode: exit 0, the emoji intact."""

    def script(conn, request, srv):
        stream = b'"stream": true' in request or b'"stream":true' in request
        if stream:
            conn.sendall(response_head())
            conn.sendall(openai_stream("ok ", "\ud83d", "\ude00").encode())
        else:
            body = json.dumps(openai_json(f"ok {EMOJI}")).encode()
            conn.sendall(response_head(content_type="application/json") + body)

    with LocalServer(script) as srv:
        write_config(f'[providers.local]\nkind = "llamacpp"\nbase_url = "{srv.url}/v1"\n')
        out = tmp_path / "answer.txt"
        for mode in (["--stream"], ["--no-stream"], ["--format", "json", "--stream"], ["-o", str(out), "--stream"]):  # fmt: skip
            run = rfctl("generate", "-p", "local", *mode, input="hi")
            assert run.code == 0, (mode, run.err)
            assert "Traceback" not in run.err
            if "-o" in mode:
                assert out.read_text(encoding="utf-8").strip() == f"ok {EMOJI}"
            elif "json" in mode:
                assert json.loads(run.out)["text"] == f"ok {EMOJI}"
            else:
                assert run.out.strip() == f"ok {EMOJI}"


# ---------------------------------------------------------------- a JSON answer to a stream request


@pytest.mark.parametrize("wire", WIRES)
def test_a_json_answer_to_a_stream_request_is_the_answer(rsps, wire):
    body = json.dumps(WIRES[wire][5]("the whole answer"))
    result, got = streamed(rsps, wire, body, "application/json; charset=utf-8")
    assert result.text == "the whole answer"
    assert got == ["the whole answer"]  # relayed once
    assert result.finish_reason == "stop" and result.usage.output_tokens == 2
    assert result.stream is False  # honest: it was not streamed


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_a_json_body_without_sse_framing_is_read_as_json_whatever_its_content_type(rsps, wire):
    body = "\n" + json.dumps(WIRES[wire][5]("plain"))
    result, got = streamed(rsps, wire, body, "text/event-stream")
    assert result.text == "plain" and got == ["plain"]


@pytest.mark.parametrize(
    "wire, error, kind",
    [
        ("openai", {"error": {"message": "model 'x' not found", "type": "invalid_request_error", "code": 404}}, "not_found"),
        ("openai", {"error": {"message": "quota exceeded", "type": "insufficient_quota", "code": 429}}, "quota"),
        ("anthropic", {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, "auth"),
        ("ollama", {"error": "model 'x' not found, try pulling it first"}, "stream"),
    ],
)  # fmt: skip
def test_a_json_error_with_status_200_is_the_error_it_carries(rsps, wire, error, kind):
    e = stream_failure(rsps, wire, json.dumps(error), "application/json")
    assert e.kind == kind
    assert "connection cut" not in e.message and "[DONE]" not in e.message
    assert e.message.split(":")[0] in json.dumps(error)
    assert e.transient is False or kind == "stream"


def test_ndjson_sent_as_application_json_is_still_a_stream(rsps):
    """Some Ollama look-alikes label their NDJSON stream application/json."""
    result, got = streamed(rsps, "ollama", ollama_stream("a", "b"), "application/json")
    assert result.text == "ab" and result.finish_reason == "stop"


def test_an_sse_stream_labelled_json_is_still_a_stream(rsps):
    result, got = streamed(rsps, "openai", openai_stream("a", "b"), "application/json")
    assert result.text == "ab" and got == ["a", "b"]


# ---------------------------------------------------------------- error text


NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    + "<!-- a padding comment to defeat IE's friendly error pages -->\r\n" * 6
    + "</body>\r\n</html>\r\n"
)
CLOUDFLARE_PAGE = (
    "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<style>body { color: red; }</style>\n"
    "<script>var x = '<b>';</script>\n<title>example.com | 524: A timeout occurred</title>\n"
    "</head>\n<body>\n"
    + "<div class='cf'>\n  <span>A timeout occurred &amp; more</span>\n</div>\n" * 20
    + "</body></html>"
)


@pytest.mark.parametrize("page, status", [(NGINX_502, 502), (CLOUDFLARE_PAGE, 524)])
def test_an_html_error_page_is_one_short_line(rsps, page, status):
    rsps.add(
        "POST", f"{OPENAI}/chat/completions", body=page, status=status, content_type="text/html"
    )
    with pytest.raises(ProviderError) as e:
        adapter("llamacpp", OPENAI).generate(Request("hi"), FAST)
    msg = e.value.short()
    assert "\n" not in msg and "\r" not in msg and "<" not in msg and ">" not in msg
    assert len(e.value.message) <= 200
    assert "502 Bad Gateway" in msg or "A timeout occurred" in msg
    assert "color: red" not in msg and "var x" not in msg
    assert e.value.body == page  # the whole page, for -v
    assert e.value.transient is True


def test_server_error_text_drops_control_characters_and_is_cut_with_an_ellipsis(rsps):
    message = "bad\x1b[31m thing\x00\x07 happened\n\tagain " + "x" * 500
    rsps.add("POST", f"{OPENAI}/chat/completions", json={"error": {"message": message}}, status=400)
    with pytest.raises(ProviderError) as e:
        adapter("llamacpp", OPENAI).generate(Request("hi"), FAST)
    assert e.value.message.startswith("bad [31m thing happened again xxx")
    assert e.value.message.endswith("...") and len(e.value.message) == 200
    assert not any(ord(c) < 32 for c in e.value.message)


def test_the_kept_error_body_is_bounded_and_redacted(rsps):
    from adapter_helpers import SECRET

    page = f"<p>key {SECRET}</p>" + "y" * (1 << 20)
    rsps.add("POST", "https://api.openai.com/v1/chat/completions", body=page, status=500)
    with pytest.raises(ProviderError) as e:
        adapter("openai", "https://api.openai.com/v1", key=SECRET, model="m").generate(
            Request("hi"), FAST
        )
    assert len(e.value.body) <= 64 * 1024
    assert SECRET not in e.value.body and "[redacted]" in e.value.body
    assert SECRET not in e.value.message


def test_an_error_event_inside_a_stream_is_one_line_too(rsps):
    body = sse({"error": {"message": "<h1>upstream\r\nfailed</h1>\n" * 3}}, done=False)
    e = stream_failure(rsps, "openai", body)
    assert "\n" not in e.message and "<" not in e.message and "upstream failed" in e.message


# ---------------------------------------------------------------- one request per attempt


GENERIC = "http://strict/v1"


def generic_stream(rsps, status: int, error: dict) -> tuple[int, ProviderError | None]:
    """One streamed call to a generic server answering `error`, then a stream
    to any second request: (requests the server got, the error raised)."""
    url = f"{GENERIC}/chat/completions"
    rsps.add("POST", url, json=error, status=status)
    rsps.add("POST", url, body=openai_stream("ok"), content_type="text/event-stream")
    a = adapter("openai-compatible", GENERIC, model="m")
    try:
        a.generate(Request("hi", temperature=0.5, stream=True), FAST)
    except ProviderError as e:
        return len(rsps.calls), e
    return len(rsps.calls), None


@pytest.mark.parametrize(
    "status, error",
    [
        (400, {"error": {"message": "Unrecognized request argument supplied: stream_options", "type": "invalid_request_error"}}),
        (422, {"detail": [{"loc": ["body", "stream_options"], "msg": "extra fields not permitted", "type": "value_error.extra"}]}),
        (422, {"detail": "Extra inputs are not permitted"}),
    ],
)  # fmt: skip
def test_a_server_that_names_stream_options_is_asked_again_without_it(rsps, status, error):
    count, e = generic_stream(rsps, status, error)
    assert e is None and count == 2
    assert "stream_options" in json.loads(rsps.calls[0].request.body)
    assert "stream_options" not in json.loads(rsps.calls[1].request.body)
    # Remembered: the next call is one request, without it.
    adapter("openai-compatible", GENERIC, model="m").generate(Request("hi", stream=True), FAST)
    assert len(rsps.calls) == 3
    assert "stream_options" not in json.loads(rsps.calls[2].request.body)


@pytest.mark.parametrize(
    "status, error, kind",
    [
        (400, {"error": {"message": "temperature must be between 0 and 2", "type": "invalid_request_error"}}, "http"),
        (400, {"error": {"message": "Your request was rejected by the safety system (content_policy_violation)"}}, "refusal"),
        (400, {"error": {"message": "Unrecognized request argument supplied: 'temperature'"}}, "http"),
        (422, {"detail": [{"loc": ["body", "max_tokens"], "msg": "Input should be a valid integer", "type": "int_parsing"}]}, "http"),
        (401, {"error": {"message": "invalid api key"}}, "auth"),
        (404, {"error": {"message": "model not found"}}, "not_found"),
        (429, {"error": {"message": "slow down"}}, "rate_limit"),
        (500, {"error": {"message": "stream_options broke the server"}}, "http"),
    ],
)  # fmt: skip
def test_any_other_error_reaches_the_server_once(rsps, status, error, kind):
    count, e = generic_stream(rsps, status, error)
    assert count == 1
    assert e is not None and e.kind == kind and e.status == status


# ---------------------------------------------------------------- the same, through the command


def serving(status: int, content_type: str, body: str) -> LocalServer:
    def script(conn, request, srv):
        conn.sendall(response_head(status, content_type) + body.encode())

    return LocalServer(script)


def local_provider(write_config, url: str) -> None:
    write_config(f'[providers.local]\nkind = "llamacpp"\nbase_url = "{url}/v1"\nretries = 0\n')


@pytest.mark.parametrize("mode", ["--stream", "--no-stream"])
def test_a_server_that_ignores_stream_is_answered_by_the_command(rfctl, write_config, mode):
    with serving(200, "application/json", json.dumps(openai_json("whole"))) as srv:
        local_provider(write_config, srv.url)
        run = rfctl("generate", "-p", "local", mode, input="hi")
    assert run.code == 0, run.err
    assert run.out.strip() == "whole"


def test_a_json_error_with_status_200_is_not_a_cut_stream_to_the_command(rfctl, write_config):
    error = {
        "error": {"message": "unknown model 'x'", "type": "invalid_request_error", "code": 400}
    }
    with serving(200, "application/json", json.dumps(error)) as srv:
        local_provider(write_config, srv.url)
        run = rfctl("generate", "-p", "local", input="hi")
    assert run.code not in (0, 75), run.err  # 75 would make cron retry forever
    assert "unknown model 'x'" in run.err and "connection cut" not in run.err


def test_an_html_error_page_is_one_error_line_from_the_command(rfctl, write_config):
    with serving(502, "text/html", NGINX_502) as srv:
        local_provider(write_config, srv.url)
        run = rfctl("generate", "-p", "local", input="hi")
    assert run.code == 75
    lines = run.err.splitlines()
    assert all(line.startswith("rfctl: ") for line in lines), run.err
    assert len([x for x in lines if x.startswith("rfctl: error:")]) == 1
    assert "<" not in run.err and "\r" not in run.err and "502 Bad Gateway" in run.err


def test_the_whole_error_page_goes_to_verbose_output_only(rfctl, write_config):
    with serving(502, "text/html", NGINX_502) as srv:
        local_provider(write_config, srv.url)
        quiet = rfctl("generate", "-p", "local", "--retries", "0", input="hi")
        verbose = rfctl("generate", "-p", "local", "--retries", "0", "-v", input="hi")
    assert "body:" not in quiet.err
    body = [x for x in verbose.err.splitlines() if x.startswith("rfctl:   body: ")]
    assert any("nginx/1.25.3" in x for x in body), verbose.err
    assert "\r" not in verbose.err


def test_an_html_page_where_json_was_expected_shows_as_its_text(rsps):
    rsps.add("POST", f"{OPENAI}/chat/completions", body=NGINX_502.replace("502", "200"), status=200)
    with pytest.raises(ProviderError) as e:
        adapter("llamacpp", OPENAI).generate(Request("hi"), FAST)
    assert e.value.kind == "bad_response"
    assert "not JSON" in e.value.message and "200 Bad Gateway" in e.value.message
    assert "<" not in e.value.message and "\\r" not in e.value.message


@pytest.mark.parametrize(
    "text, shown",
    [
        ("stop at '<|im_end|>' please", "stop at '<|im_end|>' please"),  # not markup
        ("n < 5 and m > 2", "n < 5 and m > 2"),
        ("<p>Bad &amp; worse</p>\r\n<br/>end", "Bad & worse end"),
        ("line one\nline two\u2028three", "line one line two three"),
    ],
)
def test_server_text_strips_markup_only(text, shown):
    from rfctl.providers.text import server_text

    assert server_text(text) == shown
