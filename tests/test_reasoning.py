"""--thinking / --reasoning-effort / --show-thinking: what each wire is sent,
where its reasoning text comes back (streamed and not), that it never
reaches stdout, the usage log's reasoning_tokens, and routing drops."""

from __future__ import annotations

import json

import pytest
import responses
from adapter_helpers import FAST, adapter
from completion_helpers import bash_complete
from feature_helpers import (
    CLAUDE,
    LLAMA,
    OLLAMA,
    OPENAI,
    VLLM,
    add_ollama,
    add_openai,
    anthropic_sse,
    feature_env,
    mocked,
    ollama_ndjson,
    openai_sse,
    records,
    request,
    sent,
)

from rfctl.providers import thinking
from rfctl.reasoning import DIM, ReasoningWriter


@pytest.fixture
def setup(write_config, tmp_path):
    return feature_env(write_config, tmp_path)


# ---------------------------------------------------------------- payloads


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("model", "ask", "expected"),
    [
        (
            "claude-sonnet-4-5",
            {"thinking": 2048},
            {"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 100 + 2048},
        ),
        (
            "claude-opus-4-7",
            {"reasoning_effort": "high"},
            {
                "thinking": {"type": "adaptive"},
                "output_config": {"effort": "high"},
                "max_tokens": 100 + 16384,
            },
        ),
        (
            "claude-haiku-4-5",  # manual thinking only: the level's budget
            {"reasoning_effort": "low"},
            {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 100 + 1024},
        ),
    ],
)
def test_anthropic_thinking_payloads(model, ask, expected, stream):
    a = adapter("anthropic", CLAUDE, key="k", model=model)
    body = a.payload(request(temperature=0.2, stream=stream, **ask), model)
    for key, value in expected.items():
        assert body[key] == value, key
    assert "temperature" not in body  # the API allows none but 1 with thinking
    assert body.get("stream", False) is stream


@pytest.mark.parametrize(
    ("kind", "url", "ask", "expected"),
    [
        (
            "openai",
            OPENAI,
            {"reasoning_effort": "medium"},
            {"reasoning_effort": "medium", "max_completion_tokens": 4196},
        ),
        (
            "openai",
            OPENAI,
            {"thinking": 10000},
            {"reasoning_effort": "high", "max_completion_tokens": 10100},
        ),
        (
            "llamacpp",
            LLAMA,
            {"thinking": 1500},
            {
                "reasoning_effort": "low",
                "reasoning_format": "deepseek",
                "chat_template_kwargs": {"enable_thinking": True},
                "max_tokens": 1600,
            },
        ),
        (
            "vllm",
            VLLM,
            {"thinking": 3000},
            {"chat_template_kwargs": {"enable_thinking": True}, "thinking_token_budget": 3000},
        ),
        (
            "lmstudio",
            "http://127.0.0.1:1234/v1",
            {"reasoning_effort": "low"},
            {"reasoning_effort": "low"},
        ),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
def test_openai_compatible_reasoning_payloads(kind, url, ask, expected, stream):
    a = adapter(kind, url, model="m")
    body = a.payload(request(temperature=0.5, stream=stream, **ask), "m")
    for key, value in expected.items():
        assert body[key] == value, key
    assert ("temperature" in body) is (kind != "openai")
    assert body.get("stream", False) is stream


@pytest.mark.parametrize(
    ("ask", "think"), [({"reasoning_effort": "high"}, "high"), ({"thinking": 900}, True)]
)
def test_ollama_think(ask, think):
    body = adapter("ollama", OLLAMA, model="qwen3").payload(request(**ask), "qwen3")
    assert body["think"] == think
    assert body["options"]["num_predict"] == 100 + (900 if "thinking" in ask else 16384)


def test_no_reasoning_fields_without_the_flags():
    for kind, url in (
        ("openai", OPENAI),
        ("llamacpp", LLAMA),
        ("anthropic", CLAUDE),
        ("ollama", OLLAMA),
    ):
        body = adapter(kind, url, key="k", model="m").payload(request(), "m")
        assert not {"thinking", "think", "reasoning_effort", "reasoning_format"} & set(body), kind


# ---------------------------------------------------------------- answers


def _generate(kind, url, body, content_type, stream, path, **kw):
    with mocked() as rsps:
        rsps.add(responses.POST, url + path, body=body, content_type=content_type)
        pieces: list[str] = []
        req = request(stream=stream, thinking=2048, on_reasoning=pieces.append)
        result = adapter(kind, url, key="k", model="m", **kw).generate(req, FAST)
    return result, pieces


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_openai_compatible_stream_reasoning(field):
    body = openai_sse("42", reasoning="six times seven", field=field)
    result, pieces = _generate(
        "llamacpp", LLAMA, body, "text/event-stream", True, "/chat/completions"
    )
    assert result.text == "42"
    assert result.reasoning == "six times seven" and pieces == ["six times seven"]


def test_openai_compatible_message_reasoning_not_streamed():
    body = json.dumps(
        {
            "choices": [
                {
                    "index": 0,
                    "message": {"content": "42", "reasoning": "hmm"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 3,
                "completion_tokens": 9,
                "completion_tokens_details": {"reasoning_tokens": 6},
            },
        }
    )
    result, _ = _generate("vllm", VLLM, body, "application/json", False, "/chat/completions")
    assert (result.text, result.reasoning) == ("42", "hmm")
    assert result.usage.reasoning_tokens == 6


def test_anthropic_thinking_blocks_streamed_and_not():
    body = anthropic_sse(
        [("thinking", "let me see"), ("text", "391")],
        usage={"output_tokens": 50, "output_tokens_details": {"thinking_tokens": 40}},
    )
    result, pieces = _generate("anthropic", CLAUDE, body, "text/event-stream", True, "/v1/messages")
    assert result.text == "391" and result.reasoning == "let me see" and pieces == ["let me see"]
    assert result.usage.reasoning_tokens == 40
    message = {
        "id": "m",
        "type": "message",
        "content": [
            {"type": "thinking", "thinking": "17 x 23", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "391"},
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 4, "output_tokens": 20},
    }
    result, _ = _generate(
        "anthropic", CLAUDE, json.dumps(message), "application/json", False, "/v1/messages"
    )
    assert (result.text, result.reasoning) == ("391", "17 x 23")


def test_ollama_thinking_streamed_and_not():
    result, pieces = _generate(
        "ollama",
        OLLAMA,
        ollama_ndjson("391", thinking="17 x 23 ="),
        "application/x-ndjson",
        True,
        "/api/chat",
    )
    assert (result.text, result.reasoning, pieces) == ("391", "17 x 23 =", ["17 x 23 ="])
    body = json.dumps(
        {
            "model": "qwen3",
            "message": {"role": "assistant", "content": "391", "thinking": "hm"},
            "done": True,
        }
    )
    result, _ = _generate("ollama", OLLAMA, body, "application/json", False, "/api/chat")
    assert (result.text, result.reasoning) == ("391", "hm")


# ---------------------------------------------------------------- the command


def test_reasoning_never_reaches_stdout_and_show_thinking_sends_it_to_stderr(rfctl, setup):
    env, log = setup
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 50,
        "completion_tokens_details": {"reasoning_tokens": 42},
    }
    with mocked() as rsps:
        add_openai(rsps, VLLM, "42", reasoning="SECRET-THOUGHTS", field="reasoning", usage=usage)
        add_openai(rsps, VLLM, "42", reasoning="SECRET-THOUGHTS", field="reasoning", usage=usage)
        quiet = rfctl("generate", "-p", "vllm", "--thinking", "2048", "q", env=env)
        shown = rfctl(
            "generate", "-p", "vllm", "--thinking", "2048", "--show-thinking", "q", env=env
        )
    assert quiet.code == 0 and shown.code == 0, shown.err
    assert quiet.out == shown.out == "42\n"
    assert "SECRET-THOUGHTS" not in quiet.err
    assert shown.err == "SECRET-THOUGHTS\n"  # not a terminal: not dimmed
    assert [r["reasoning_tokens"] for r in records(log)] == [42, 42]
    assert sent(rsps)["max_tokens"] == 1024 + 2048


def test_show_thinking_in_a_batch_goes_to_stderr_whole(rfctl, setup):
    env, _ = setup
    with mocked() as rsps:
        add_ollama(rsps, "391", thinking="THOUGHT")
        run = rfctl(
            "generate",
            "--jsonl",
            "-p",
            "ollama",
            "--reasoning-effort",
            "low",
            "--show-thinking",
            input='"q"\n',
            env=env,
        )
    assert run.code == 0, run.err
    assert "THOUGHT" not in run.out and run.err == "THOUGHT\n"
    assert json.loads(run.out)["text"] == "391"


def test_jsonl_lines_take_reasoning_fields(rfctl, setup):
    env, _ = setup
    lines = (
        json.dumps({"prompt": "q", "reasoning_effort": "high"})
        + "\n"
        + json.dumps({"prompt": "q", "reasoning_effort": "max"})
        + "\n"
    )
    with mocked() as rsps:
        add_ollama(rsps, "ok")
        run = rfctl("generate", "--jsonl", "-p", "ollama", input=lines, env=env)
    one, two = (json.loads(x) for x in run.out.splitlines())
    assert one["ok"] and sent(rsps)["think"] == "high"
    assert (
        not two["ok"]
        and two["error"]["code"] == 65
        and "reasoning_effort" in two["error"]["message"]
    )


def test_models_that_cannot_reason_are_dropped_with_the_reason(rfctl, setup):
    env, _ = setup
    run = rfctl(
        "generate", "--dry-run", "--format", "json", "--reasoning-effort", "low", "x", env=env
    )
    assert run.code == 0, run.err
    plan = json.loads(run.out)
    why = {c["provider"]: c["why"] for c in plan["dropped"]}
    assert why["gpt"] == "gpt-4o lacks capability reasoning"
    assert why["llama"].startswith("capabilities unknown")
    kept = {c["provider"]: c["why"] for c in plan["candidates"]}
    assert kept["claude"].endswith("thinking budget 1024")  # claude-sonnet-4-5: manual only
    assert kept["ollama"].endswith("think low")
    assert kept["vllm"].endswith("reasoning_effort low")
    assert plan["tokens"]["max_tokens"] == 1024 + 1024


def test_bad_thinking_budget_is_a_usage_error(rfctl, setup):
    env, _ = setup
    run = rfctl("generate", "-p", "ollama", "--thinking", "0", "x", env=env)
    assert run.code == 2 and "--thinking must be at least 1" in run.err


def test_writer_dims_on_a_terminal(monkeypatch):
    class Tty:
        def __init__(self):
            self.out = ""

        def isatty(self):
            return True

        def write(self, s):
            self.out += s

        def flush(self):
            pass

    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = Tty()
    w = ReasoningWriter(tty)
    w("thinking")
    answer: list[str] = []
    w.then(answer.append)("42")  # the answer's first piece closes the reasoning's line
    assert tty.out == f"{DIM}thinking\x1b[0m\n" and answer == ["42"]


def test_completion_offers_files_for_attach_and_the_effort_levels(tmp_path):
    (tmp_path / "photo.png").write_bytes(b"")
    assert bash_complete(["rfctl", "generate", "-a", "ph"], cwd=tmp_path) == ["photo.png"]
    assert bash_complete(["rfctl", "generate", "--schema", "ph"], cwd=tmp_path) == ["photo.png"]
    assert bash_complete(["rfctl", "generate", "--reasoning-effort", ""]) == [
        "low",
        "medium",
        "high",
    ]


@pytest.mark.parametrize(
    "pieces",
    [
        ["<think>abc</think>\n\nanswer"],
        ["<th", "ink>a", "bc</th", "ink>", "\n", "\nans", "wer"],
        ["  <think>", "abc", "</think>answer"],
    ],
)
def test_inline_think_tags_go_to_reasoning_not_the_answer(pieces):
    out: list[str] = []
    thought: list[str] = []
    relay = thinking.InlineThinking(out.append, thought.append)
    for p in pieces:
        relay(p)
    relay.flush()
    assert "".join(out) == "answer" and "".join(thought) == "abc"
    assert thinking.split_inline("".join(pieces)) == ("abc", "answer")


def test_text_without_think_tags_passes_untouched():
    out: list[str] = []
    relay = thinking.InlineThinking(out.append)
    for p in ["<b>", "old</b>"]:
        relay(p)
    relay.flush()
    assert "".join(out) == "<b>old</b>"
    short: list[str] = []
    relay = thinking.InlineThinking(short.append)
    relay("<th")
    relay.flush()
    assert short == ["<th"]


def test_a_server_that_inlines_its_reasoning_keeps_it_off_stdout(rfctl, setup):
    env, _ = setup
    with mocked() as rsps:
        add_openai(rsps, VLLM, "<think>SECRET</think>\n\n42")
        run = rfctl("generate", "-p", "vllm", "--reasoning-effort", "low", "--stream", "q", env=env)
        shown = rfctl(
            "generate", "-p", "vllm", "--reasoning-effort", "low", "--show-thinking", "q", env=env
        )
    assert run.code == 0 and run.out == "42\n" and "SECRET" not in run.err
    assert shown.out == "42\n" and shown.err == "SECRET\n"
