"""rfctl against a real llama.cpp server (llama-server + Gemma 3 270M, from PyPI).

The model is a base model, served with a template that passes the prompt text
through (see conftest), so prompts are text to continue. Answers are
deterministic at temperature 0, so each
test asks the server directly with the same payload and checks that rfctl
printed exactly the server's own text and logged the server's own token counts.
"""

from __future__ import annotations

import json

import pytest
import requests
from conftest import llama_providers

pytestmark = pytest.mark.llama

PROMPT = "The capital of France is"


@pytest.fixture
def llama_config(write_config, llama_server, tmp_path):
    log = tmp_path / "usage.jsonl"
    write_config(llama_providers(llama_server.url))
    return {"RFCTL_USAGE_LOG": str(log)}, log


def forget_cache(url: str) -> None:
    """Empty the server's KV cache, so the next request is computed afresh."""
    requests.post(f"{url}/slots/0?action=erase", timeout=10).raise_for_status()


def server_chat(url: str, stream: bool = False) -> dict:
    """The server's own answer to the payload rfctl sends, computed afresh;
    the cache is emptied again after it, so rfctl's request is too."""
    body = {
        "model": "default",
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 12,
        "temperature": 0.0,
    }
    forget_cache(url)
    answer = requests.post(f"{url}/v1/chat/completions", json=body, timeout=60).json()
    forget_cache(url)
    return answer


def records(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_generate_non_stream_matches_server(rfctl, llama_server, llama_config):
    env, log = llama_config
    expected = server_chat(llama_server.url)
    run = rfctl(
        "generate",
        "-p",
        "local",
        "--no-stream",
        "-t",
        "0",
        "--max-tokens",
        "12",
        "--format",
        "json",
        PROMPT,
        env=env,
    )
    assert run.code == 0, run.err
    answer = json.loads(run.out)
    assert answer["ok"] is True
    assert answer["text"] == expected["choices"][0]["message"]["content"]
    assert answer["finish_reason"] == expected["choices"][0]["finish_reason"]
    assert answer["usage"]["input_tokens"] == expected["usage"]["prompt_tokens"]
    assert answer["usage"]["output_tokens"] == expected["usage"]["completion_tokens"]
    assert answer["usage"]["source"] == "provider"
    [rec] = records(log)
    assert rec["status"] == "ok" and rec["provider"] == "local" and rec["kind"] == "llamacpp"
    assert rec["input_tokens"] == expected["usage"]["prompt_tokens"]
    assert rec["output_tokens"] == expected["usage"]["completion_tokens"]
    assert rec["cost_usd"] == 0


def test_generate_stream_matches_server(rfctl, llama_server, llama_config):
    env, log = llama_config
    expected = server_chat(llama_server.url)
    text = expected["choices"][0]["message"]["content"]
    run = rfctl(
        "generate", "-p", "local", "--stream", "-t", "0", "--max-tokens", "12", PROMPT, env=env
    )
    assert run.code == 0, run.err
    assert run.out == (text if text.endswith("\n") else text + "\n")
    [rec] = records(log)
    assert rec["stream"] is True
    assert rec["tokens_source"] == "provider"
    assert rec["input_tokens"] == expected["usage"]["prompt_tokens"]
    assert rec["output_tokens"] == expected["usage"]["completion_tokens"]
    assert rec["ttft_ms"] is not None and rec["ttft_ms"] <= rec["latency_ms"]


def test_plain_pipe_output_is_the_answer(rfctl, llama_server, llama_config):
    env, _ = llama_config
    text = server_chat(llama_server.url)["choices"][0]["message"]["content"]
    run = rfctl("generate", "-p", "local", "-t", "0", "--max-tokens", "12", input=PROMPT, env=env)
    assert run.code == 0, run.err
    assert run.out.rstrip("\n") == text.rstrip("\n")
    assert run.err == ""


def test_stop_sequence_is_honoured(rfctl, llama_server, llama_config):
    env, _ = llama_config
    full = server_chat(llama_server.url)["choices"][0]["message"]["content"]
    # Stop at a piece of the model's own unconstrained answer.
    stop = "." if "." in full.rstrip(".") else full[len(full) // 2 :][:2]
    run = rfctl(
        "generate",
        "-p",
        "local",
        "-t",
        "0",
        "--max-tokens",
        "12",
        "--format",
        "json",
        "--stop",
        stop,
        PROMPT,
        env=env,
    )
    assert run.code == 0, run.err
    answer = json.loads(run.out)
    assert answer["finish_reason"] == "stop"
    assert answer["text"] == full[: full.index(stop)]


def test_anthropic_adapter_against_llama_server_messages(rfctl, llama_server, llama_config):
    env, log = llama_config
    body = {
        "model": "default",
        "max_tokens": 12,
        "temperature": 0.0,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    expected = requests.post(f"{llama_server.url}/v1/messages", json=body, timeout=60).json()
    want = "".join(b["text"] for b in expected["content"] if b["type"] == "text")
    for flag in ("--no-stream", "--stream"):
        run = rfctl(
            "generate",
            "-p",
            "messages",
            flag,
            "-t",
            "0",
            "--max-tokens",
            "12",
            "--format",
            "json",
            PROMPT,
            env=env,
        )
        assert run.code == 0, run.err
        answer = json.loads(run.out)
        assert answer["text"] == want, flag
        assert answer["provider"] == "messages"
        assert answer["usage"]["output_tokens"] == expected["usage"]["output_tokens"]


def test_context_overflow_is_a_clear_error(rfctl, write_config, llama_server_small, tmp_path):
    write_config(f"""
[providers.small]
kind = "llamacpp"
base_url = "{llama_server_small.url}/v1"
""")
    long_prompt = "The quick brown fox jumps over the lazy dog. " * 150
    run = rfctl(
        "generate",
        "-p",
        "small",
        "--max-tokens",
        "8",
        input=long_prompt,
        env={"RFCTL_USAGE_LOG": str(tmp_path / "u.jsonl")},
    )
    assert run.code == 65, (run.code, run.err)
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rfctl: error:")
    assert "context" in lines[0]
    assert "Traceback" not in run.err


def test_providers_sees_the_real_server(rfctl, llama_config):
    env, _ = llama_config
    run = rfctl("providers", "--json", "--timeout", "5", env=env)
    assert run.code == 0, run.err
    local = next(p for p in json.loads(run.out) if p["name"] == "local")
    assert local["reachable"] is True
    assert local["key"] == "not needed"
    assert local["models"]


def test_models_lists_the_served_model_with_its_runtime_context(rfctl, llama_server, llama_config):
    env, _ = llama_config
    run = rfctl("models", "-p", "local", "--json", "--timeout", "5", env=env)
    assert run.code == 0, run.err
    rows = [r for r in json.loads(run.out) if r["provider"] == "local"]
    assert rows, run.out
    served = [r for r in rows if r["available"] == "yes"]
    assert served and served[0]["context"] == llama_server.ctx


def test_probe_generate_against_the_real_server(rfctl, llama_config, tmp_path):
    env, _ = llama_config
    prom = tmp_path / "rfctl.prom"
    run = rfctl("probe", "--generate", "--timeout", "30", "--textfile", str(prom), "local", env=env)
    assert run.code == 0, run.out + run.err
    assert run.out.startswith("RFCTL OK")
    assert 'rfctl_provider_up{provider="local"} 1' in prom.read_text()
