"""--schema: each wire's native mechanism, the local check of every answer,
the walk past answers that do not validate, and what stdout gets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import responses
from conftest import REPO
from feature_helpers import (
    CLAUDE,
    COMPAT,
    CONFIG,
    LLAMA,
    OLLAMA,
    OPENAI,
    VLLM,
    add_anthropic,
    add_ollama,
    add_openai,
    configure,
    mocked,
    records,
    request,
    sent,
)

from rfctl.providers import structured

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
    },
    "required": ["name", "age"],
}
GOOD = '{"name": "Ann", "age": 31, "tags": ["a"]}'
BAD = '{"name": "Ann", "age": "thirty-one"}'


@pytest.fixture
def setup(write_config, tmp_path):
    configure(write_config, CONFIG)
    log = tmp_path / "usage.jsonl"
    schema = tmp_path / "person.json"
    schema.write_text(json.dumps(SCHEMA))
    return {"RFCTL_USAGE_LOG": str(log)}, log, str(schema)


# ---------------------------------------------------------------- payloads per wire


@pytest.mark.parametrize(
    ("provider", "url", "key", "expected"),
    [
        (
            "gpt",
            OPENAI,
            "response_format",
            {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": SCHEMA, "strict": False},
            },
        ),
        (
            "llama",
            LLAMA,
            "response_format",
            {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}},
        ),
        (
            "compat",
            COMPAT,
            "response_format",
            {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}},
        ),
        ("vllm", VLLM, "structured_outputs", {"json": SCHEMA}),
    ],
)
@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_openai_wires_use_their_native_mechanism(
    rfctl, setup, provider, url, key, expected, stream
):
    env, _, schema = setup
    with mocked() as rsps:
        add_openai(rsps, url, GOOD)
        run = rfctl("generate", "-p", provider, stream, "--schema", schema, "who?", env=env)
    assert run.code == 0, run.err
    body = sent(rsps)
    assert body[key] == expected
    assert body["messages"][-1]["content"] == "who?"  # nothing added to the prompt
    assert json.loads(run.out) == json.loads(GOOD)


def test_openai_strict_only_for_schemas_that_meet_its_rules():
    strict = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {}, "additionalProperties": False, "required": []}
        },
        "required": ["a"],
        "additionalProperties": False,
    }
    assert structured.strict_compatible(strict) is True
    assert structured.strict_compatible(SCHEMA) is False
    body: dict = {}
    structured.openai(body, request(schema=strict), "response_format", "openai")
    assert body["response_format"]["json_schema"]["strict"] is True


@pytest.mark.parametrize(
    ("kind", "model", "thinking", "mode"),
    [
        ("anthropic", "claude-sonnet-4-5", None, "output_config"),
        ("anthropic", "claude-opus-5", 2048, "output_config"),
        ("anthropic", "claude-3-5-sonnet-20241022", None, "tool"),
        ("anthropic", "claude-3-5-sonnet-20241022", 2048, "prompt"),
        ("openai", "gpt-4o", None, "response_format"),
        ("openai", "gpt-4-turbo", None, "prompt"),
        ("vllm", "Qwen/Qwen3-8B", None, "structured_outputs"),
        ("ollama", "qwen3", None, "format"),
        ("stub", None, None, None),
    ],
)
def test_mode_by_kind_and_model(kind, model, thinking, mode):
    assert structured.mode(kind, model, request(schema=SCHEMA, thinking=thinking)) == mode


def test_anthropic_structured_output(rfctl, setup):
    env, _, schema = setup
    with mocked() as rsps:
        add_anthropic(rsps, [("text", GOOD)])
        run = rfctl("generate", "-p", "claude", "--schema", schema, "who?", env=env)
    assert run.code == 0, run.err
    body = sent(rsps)
    assert body["output_config"] == {
        "format": {"type": "json_schema", "schema": {**SCHEMA, "additionalProperties": False}}
    }
    assert "tools" not in body
    assert json.loads(run.out) == json.loads(GOOD)


def test_anthropic_schema_subset_closes_objects_and_moves_other_keywords_to_hints():
    schema = {
        "type": "object",
        "properties": {
            "age": {"type": "integer", "minimum": 0},
            "when": {"type": "string", "format": "date"},
            "kind": {"oneOf": [{"const": "a"}, {"const": "b"}]},
            "inner": {"type": "object", "properties": {"x": {"type": "string", "maxLength": 3}}},
        },
        "required": ["age"],
    }
    out = structured.anthropic_schema(schema)
    assert out["additionalProperties"] is False
    assert out["properties"]["age"] == {"type": "integer", "description": "minimum: 0"}
    assert out["properties"]["when"] == {"type": "string", "format": "date"}
    assert out["properties"]["kind"] == {"anyOf": [{"const": "a"}, {"const": "b"}]}
    inner = out["properties"]["inner"]
    assert inner["additionalProperties"] is False
    assert inner["properties"]["x"] == {"type": "string", "description": "maxLength: 3"}
    assert schema["properties"]["age"] == {"type": "integer", "minimum": 0}  # untouched


def test_anthropic_forced_tool_streamed_and_not(rfctl, setup, write_config):
    configure(write_config, CONFIG.replace("claude-sonnet-4-5", "claude-3-5-haiku-20241022"))
    env, _, schema = setup
    with mocked() as rsps:
        add_anthropic(rsps, [("tool", GOOD)], stop="tool_use")
        run = rfctl("generate", "-p", "claude", "--schema", schema, "who?", env=env)
    assert run.code == 0, run.err
    body = sent(rsps)
    assert body["tools"][0]["name"] == "rfctl_answer"
    assert body["tools"][0]["input_schema"] == SCHEMA
    assert body["tool_choice"] == {
        "type": "tool",
        "name": "rfctl_answer",
        "disable_parallel_tool_use": True,
    }
    assert json.loads(run.out) == json.loads(GOOD)  # from the input_json_delta pieces
    # A server that answers the stream request with one JSON message.
    message = {
        "id": "msg_2",
        "type": "message",
        "model": "claude-3-5-haiku-20241022",
        "content": [
            {"type": "tool_use", "id": "t", "name": "rfctl_answer", "input": json.loads(GOOD)}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 9},
    }
    from adapter_helpers import adapter

    from rfctl.providers.answer import Answer
    from rfctl.providers.base import Timeouts
    from rfctl.providers.clock import Clock

    a = Answer(Clock(Timeouts()))
    adapter("anthropic", CLAUDE, key="k", model="claude-3-5-haiku").parse(message, a, 200)
    assert json.loads(a.text) == json.loads(GOOD)


def test_ollama_format(rfctl, setup):
    env, _, schema = setup
    with mocked() as rsps:
        add_ollama(rsps, GOOD)
        run = rfctl("generate", "-p", "ollama", "--schema", schema, "who?", env=env)
    assert run.code == 0, run.err
    assert sent(rsps)["format"] == SCHEMA
    assert rsps.seen[0].request.url == f"{OLLAMA}/api/chat"


def test_prompt_mode_writes_the_schema_into_the_prompt_and_unwraps_fences(
    rfctl, setup, write_config
):
    configure(write_config, CONFIG.replace('model = "gpt-4o"', 'model = "gpt-4-turbo"'))
    env, _, schema = setup
    with mocked() as rsps:
        add_openai(rsps, OPENAI, f"Sure!\n```json\n{GOOD}\n```\n")
        run = rfctl("generate", "-p", "gpt", "--schema", schema, "who?", env=env)
    assert run.code == 0, run.err
    body = sent(rsps)
    assert "response_format" not in body
    prompt = body["messages"][-1]["content"]
    assert prompt.startswith("who?\n\nAnswer with one JSON document")
    assert json.dumps(SCHEMA, separators=(",", ":")) in prompt
    assert run.out == json.dumps(json.loads(GOOD)) + "\n"


# ---------------------------------------------------------------- validation and the walk


def test_stdout_gets_the_document_alone_on_one_line(rfctl, setup):
    env, _, schema = setup
    with mocked() as rsps:
        add_openai(rsps, OPENAI, '  {\n  "name": "Ann",\n  "age": 31\n}\n')
        run = rfctl("generate", "-p", "gpt", "--schema", schema, "who?", env=env)
    assert run.code == 0, run.err
    assert run.out == '{"name": "Ann", "age": 31}\n'


def test_pretty_on_a_terminal():
    from rfctl.schema import render

    assert render('{"a": [1]}', pretty=True) == '{\n  "a": [\n    1\n  ]\n}\n'
    assert render('{"a": [1]}', pretty=False) == '{"a": [1]}\n'


def test_an_invalid_answer_is_a_failed_attempt_and_the_walk_moves_on(rfctl, setup):
    env, log, schema = setup
    with mocked() as rsps:
        add_openai(rsps, LLAMA, BAD)
        add_openai(rsps, OPENAI, GOOD)
        run = rfctl("generate", "-p", "llama", "-p", "gpt", "--schema", schema, "who?", env=env)
    assert run.code == 0, run.err
    assert json.loads(run.out) == json.loads(GOOD)
    assert len(rsps.seen) == 2  # one request each: an invalid answer is not retried
    bad, good = records(log)
    assert bad["provider"] == "llama" and bad["status"] == "error"
    assert bad["error"].startswith(
        "invalid_answer: the answer does not validate against the schema: at $.age"
    )
    assert bad["input_tokens"] == 10 and bad["output_tokens"] == 5  # billed all the same
    assert bad["cost_usd"] == 0.0  # a local server
    assert good["provider"] == "gpt" and good["status"] == "ok"


def test_exit_65_when_no_answer_validates_with_the_first_error(rfctl, setup):
    env, log, schema = setup
    with mocked() as rsps:
        add_openai(rsps, LLAMA, BAD)
        add_openai(rsps, OPENAI, "not json at all")
        run = rfctl("generate", "-p", "llama", "-p", "gpt", "--schema", schema, "who?", env=env)
    assert run.code == 65
    assert run.out == ""
    assert run.err.count("\n") == 1 and "Traceback" not in run.err
    assert run.err.startswith(
        "rfctl: error: llama: the answer does not validate against the schema: at $.age: "
    )
    assert "(2 answers, none valid)" in run.err
    assert [r["status"] for r in records(log)] == ["error", "error"]
    # Billed by a cloud API all the same: priced from the usage it reported.
    assert records(log)[1]["cost_usd"] > 0


def test_format_json_record_carries_65(rfctl, setup):
    env, _, schema = setup
    with mocked() as rsps:
        add_openai(rsps, OPENAI, BAD)
        run = rfctl("generate", "-p", "gpt", "--format", "json", "--schema", schema, "x", env=env)
    assert run.code == 65
    rec = json.loads(run.out)
    assert rec["ok"] is False and rec["error"]["code"] == 65


def test_inline_schema_and_bad_schemas(rfctl, setup, tmp_path):
    env, _, _ = setup
    with mocked() as rsps:
        add_openai(rsps, OPENAI, '{"n": 1}')
        run = rfctl(
            "generate",
            "-p",
            "gpt",
            "--schema",
            '{"type": "object", "required": ["n"]}',
            "x",
            env=env,
        )
    assert run.code == 0, run.err
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    for value, words in (
        (str(broken), "is not JSON"),
        ('{"type": 12}', "not a valid JSON Schema"),
        (str(tmp_path / "absent.json"), "no such file"),
    ):
        run = rfctl("generate", "-p", "gpt", "--schema", value, "x", env=env)
        assert run.code == 65, value
        assert words in run.err and run.err.count("\n") == 1 and "Traceback" not in run.err


def test_the_stub_cannot_answer_in_json(rfctl, setup):
    env, _, schema = setup
    run = rfctl("generate", "-p", "stub", "--dry-run", "--schema", schema, "x", env=env)
    assert run.code == 69
    assert "the offline stub echoes the prompt" in run.out


def test_dry_run_says_how_each_candidate_is_asked(rfctl, setup):
    env, _, schema = setup
    run = rfctl("generate", "--dry-run", "--format", "json", "--schema", schema, "x", env=env)
    assert run.code == 0, run.err
    why = {c["provider"]: c["why"] for c in json.loads(run.out)["candidates"]}
    assert why["gpt"].endswith("schema via response_format json_schema")
    assert why["vllm"].endswith("schema via vLLM structured_outputs")
    assert why["claude"].endswith("schema via output_config.format")
    assert why["ollama"].endswith("schema via Ollama format")


def test_jsonl_lines_take_their_own_schema(rfctl, setup):
    env, _, schema = setup
    lines = "\n".join(
        [
            json.dumps({"id": 1, "prompt": "a"}),  # the flag's schema
            json.dumps({"id": 2, "prompt": "b", "schema": {"type": "array"}}),
            json.dumps({"id": 3, "prompt": "c", "schema": {"type": 5}}),
        ]
    )
    with mocked() as rsps:
        add_openai(rsps, OPENAI, GOOD)
        add_openai(rsps, OPENAI, "[1, 2]")
        run = rfctl(
            "generate", "--jsonl", "-p", "gpt", "--schema", schema, input=lines + "\n", env=env
        )
    assert run.code == 1
    one, two, three = (json.loads(x) for x in run.out.splitlines())
    assert json.loads(one["text"]) == json.loads(GOOD)
    assert two["ok"] and json.loads(two["text"]) == [1, 2]
    assert sent(rsps, 1)["response_format"]["json_schema"]["schema"] == {"type": "array"}
    assert not three["ok"] and three["error"]["code"] == 65
    assert "not a valid JSON Schema" in three["error"]["message"]


def test_jsonl_line_whose_answer_does_not_validate_is_65(rfctl, setup):
    env, _, schema = setup
    with mocked() as rsps:
        add_openai(rsps, OPENAI, BAD)
        run = rfctl("generate", "--jsonl", "-p", "gpt", "--schema", schema, input='"x"\n', env=env)
    rec = json.loads(run.out)
    assert run.code == 1 and rec["error"]["code"] == 65


def test_cut_json_says_so(rfctl, setup):
    env, _, schema = setup
    body = (
        'data: {"choices":[{"index":0,"delta":{"content":"{\\"name\\": \\"An"}}]}\n\n'
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\ndata: [DONE]\n\n'
    )
    with mocked() as rsps:
        rsps.add(
            responses.POST,
            f"{OPENAI}/chat/completions",
            body=body,
            content_type="text/event-stream",
        )
        run = rfctl("generate", "-p", "gpt", "--schema", schema, "x", env=env)
    assert run.code == 65
    assert "cut at the output limit" in run.err


@pytest.mark.parametrize(
    ("flags", "imported"), [((), False), (("--schema", '{"type":"object"}'), True)]
)
def test_jsonschema_is_imported_only_for_schema(flags, imported, tmp_path):
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rfctl", "generate", "-p", "stub", *flags, "hi"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
    )
    assert ("jsonschema" in run.stderr) is imported, run.stderr[-500:]
