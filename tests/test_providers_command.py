"""`rfctl providers`: configuration, key status, reachability, latency, cooldowns."""

from __future__ import annotations

import json

import pytest
import responses
from conftest import free_port
from probe_helpers import (
    EVERY_KIND,
    LLAMA_MODELS,
    OLLAMA_TAGS,
    FakeServer,
    llama_routes,
    provider_toml,
    run_command,
    silent_server,
)

COLUMNS = [
    "name",
    "kind",
    "base_url",
    "priority",
    "enabled",
    "key",
    "reachable",
    "latency_ms",
    "cooldown_s",
    "models",
    "detail",
]


def mock_health_of_every_kind(r: responses.RequestsMock) -> None:
    """The endpoint each adapter checks health with."""
    r.get(
        "https://api.anthropic.com/v1/models",
        json={"data": [{"type": "model", "id": "claude-sonnet-4-5-20250929"}], "has_more": False},
    )
    r.get(
        "https://api.openai.com/v1/models",
        json={"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]},
    )
    r.get("http://ollama.test:11434/api/version", json={"version": "0.33.0"})
    r.get("http://ollama.test:11434/api/tags", json=OLLAMA_TAGS)
    r.get("http://vllm.test:8000/health", body=b"")
    r.get(
        "http://lmstudio.test:1234/v1/models",
        json={"object": "list", "data": [{"id": "qwen2.5-7b-instruct", "object": "model"}]},
    )
    r.get("http://localai.test:8080/readyz", body=b"")
    r.get("http://llama.test:8080/health", json={"status": "ok"})
    r.get(
        "http://compat.test:9000/v1/models",
        json={
            "object": "list",
            "data": [{"id": "mistral-7b-instruct-v0.3.Q4_K_M.gguf", "object": "model"}],
        },
    )


@pytest.fixture
def every_kind(write_config, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef")
    write_config(EVERY_KIND)  # OPENAI_API_KEY deliberately unset
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        mock_health_of_every_kind(r)
        yield r


def providers_json(capsys, *argv) -> dict:
    assert run_command("providers", ["--json", *argv]) == 0
    return {p["name"]: p for p in json.loads(capsys.readouterr().out)}


def test_every_kind_is_checked(every_kind, capsys):
    ps = providers_json(capsys)
    assert list(ps) == [
        "claude",
        "openai",
        "ollama",
        "vllm",
        "lmstudio",
        "localai",
        "llama",
        "compat",
        "offline",
    ]
    for name in ("claude", "ollama", "vllm", "lmstudio", "localai", "llama", "compat", "offline"):
        assert ps[name]["reachable"] is True, ps[name]
        assert ps[name]["latency_ms"] is not None and ps[name]["latency_ms"] >= 0
    # No key: not contacted at all, and said so.
    assert ps["openai"]["reachable"] is False and ps["openai"]["key"] == "missing"
    assert "OPENAI_API_KEY" in ps["openai"]["detail"]
    assert not [c for c in every_kind.calls if "api.openai.com" in c.request.url]
    assert ps["claude"]["key"] == "present" and ps["ollama"]["key"] == "not needed"
    assert ps["claude"]["models"] == ["claude-sonnet-4-5-20250929"]  # what the server lists
    assert ps["ollama"]["models"] == ["llama3.2:3b", "qwen3-coder:30b"]  # from /api/tags
    assert ps["llama"]["base_url"] == "http://llama.test:8080/v1"
    assert ps["llama"]["priority"] == 7 and ps["llama"]["enabled"] is True


def test_unreachable_provider(write_config, capsys):
    port = free_port()
    write_config(provider_toml("down", "llamacpp", f"http://127.0.0.1:{port}/v1"))
    p = providers_json(capsys, "--timeout", "2")["down"]
    assert p["reachable"] is False
    assert "refused" in p["detail"]


def test_no_check_touches_no_network(write_config, capsys):
    write_config(EVERY_KIND)
    with responses.RequestsMock() as r:
        ps = providers_json(capsys, "--no-check")
        assert not r.calls
    assert all(p["reachable"] is None and p["latency_ms"] is None for p in ps.values())
    assert ps["llama"]["models"] == ["gemma3-270m"]


def test_named_providers_only_and_unknown_name(every_kind, capsys):
    from rfctl.errors import ConfigError

    assert list(providers_json(capsys, "vllm", "llama")) == ["vllm", "llama"]
    with pytest.raises(ConfigError, match="nosuch"):
        run_command("providers", ["nosuch"])


def test_builtin_stub_is_hidden_but_a_configured_one_shows(write_config, capsys):
    write_config(provider_toml("local", "ollama", "http://ollama.test:11434"))
    assert list(providers_json(capsys, "--no-check")) == ["local"]
    write_config(provider_toml("stub", "stub", "stub://"))
    assert list(providers_json(capsys, "--no-check")) == ["stub"]


def test_tsv_columns_are_stable(every_kind, capsys):
    assert run_command("providers", []) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == COLUMNS
    for line in lines[1:]:
        assert len(line.split("\t")) == len(COLUMNS)
    llama = [line.split("\t") for line in lines if line.startswith("llama\t")][0]
    assert llama[:7] == [
        "llama",
        "llamacpp",
        "http://llama.test:8080/v1",
        "7",
        "yes",
        "not needed",
        "yes",
    ]


def test_terminal_table(every_kind, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")
    assert run_command("providers", ["--format", "table", "--wide"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    assert out.splitlines()[0].split()[:4] == ["name", "kind", "base", "URL"]
    assert "not needed" in out and "OPENAI_API_KEY" in out


def test_password_in_base_url_is_never_shown(write_config, capsys):
    port = free_port()
    write_config(provider_toml("p", "vllm", f"http://alice:s3cret-pw@127.0.0.1:{port}/v1"))
    assert run_command("providers", ["--json", "--timeout", "2"]) == 0
    out = capsys.readouterr()
    assert "s3cret-pw" not in out.out + out.err
    [p] = json.loads(out.out)
    assert p["base_url"] == f"http://127.0.0.1:{port}/v1"


def test_checks_run_in_parallel_within_the_timeout(rfctl, write_config):
    with silent_server() as a, silent_server() as b, silent_server() as c:
        write_config(
            provider_toml("a", "llamacpp", f"{a}/v1")
            + provider_toml("b", "vllm", f"{b}/v1")
            + provider_toml("c", "ollama", c)
        )
        run = rfctl("providers", "--json", "--timeout", "1", timeout=30)
    assert run.code == 0, run.err
    ps = json.loads(run.out)
    assert [p["reachable"] for p in ps] == [False, False, False]
    # One second each, at once: well under the three seconds one after another.
    assert max(p["latency_ms"] for p in ps) < 2500
    assert all("time" in p["detail"] or "no response" in p["detail"] for p in ps), ps


def test_real_local_server_is_reachable(rfctl, write_config):
    with FakeServer(llama_routes()) as server:
        write_config(provider_toml("llama", "llamacpp", f"{server.url}/v1", model="gemma3-270m"))
        run = rfctl("providers", "--json")
    assert run.code == 0, run.err
    [p] = json.loads(run.out)
    assert p["reachable"] is True and p["detail"] == "ok"
    assert LLAMA_MODELS  # the same server answers `models` (test_models_command)


def test_cooldown_comes_from_the_router_state(write_config, capsys, tmp_path, monkeypatch):
    state = pytest.importorskip("rfctl.state", reason="rfctl/state.py (router helper) missing")
    path = tmp_path / "state.json"
    monkeypatch.setenv("RFCTL_STATE", str(path))
    write_config(
        provider_toml("a", "ollama", "http://ollama.test:11434")
        + provider_toml("b", "ollama", "http://ollama2.test:11434")
    )
    state.start_cooldown(path, "a", 120, "connect: connection refused")
    ps = providers_json(capsys, "--no-check")
    assert 100 < ps["a"]["cooldown_s"] <= 120
    assert ps["b"]["cooldown_s"] is None
