"""`rfctl models`: the registry merged with what each kind of server lists.

Listings are mocked with `responses`, using payloads shaped like the real
servers' answers, so these tests drive the real adapters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import responses
from conftest import REPO, free_port
from probe_helpers import (
    EVERY_KIND,
    LLAMA_MODELS,
    OLLAMA_TAGS,
    VLLM_MODELS,
    FakeServer,
    provider_toml,
    run_command,
)

ANTHROPIC_MODELS = {  # Anthropic GET /v1/models (paged: has_more, first_id, last_id)
    "data": [
        {
            "type": "model",
            "id": "claude-sonnet-4-5-20250929",
            "display_name": "Claude Sonnet 4.5",
            "created_at": "2025-09-29T00:00:00Z",
            "max_input_tokens": 200000,
            "max_tokens": 64000,
        },
        {
            "type": "model",
            "id": "claude-haiku-4-5-20251001",
            "display_name": "Claude Haiku 4.5",
            "created_at": "2025-10-01T00:00:00Z",
        },
    ],
    "has_more": False,
    "first_id": "claude-sonnet-4-5-20250929",
    "last_id": "claude-haiku-4-5-20251001",
}
OPENAI_MODELS = {  # OpenAI GET /v1/models
    "object": "list",
    "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        {
            "id": "gpt-4o-mini-2024-07-18",
            "object": "model",
            "created": 1721172741,
            "owned_by": "system",
        },
        {
            "id": "text-embedding-3-small",
            "object": "model",
            "created": 1705948997,
            "owned_by": "system",
        },
    ],
}
OLLAMA_PS = {  # Ollama GET /api/ps: llama3.2:3b loaded with an 8192 window
    "models": [
        {
            "name": "llama3.2:3b",
            "model": "llama3.2:3b",
            "size": 3500000000,
            "digest": "a80c4f17acd5",
            "details": {"format": "gguf", "family": "llama"},
            "expires_at": "2026-11-29T10:22:02.3Z",
            "size_vram": 3500000000,
            "context_length": 8192,
        }
    ],
}
LMSTUDIO_V0 = {  # LM Studio GET /api/v0/models
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
LOCALAI_MODELS = {
    "object": "list",  # LocalAI GET /v1/models: ids only
    "data": [{"id": "qwen2.5-7b-instruct", "object": "model"}],
}
COMPAT_MODELS = {
    "object": "list",
    "data": [{"id": "mistral-7b-instruct-v0.3.Q4_K_M.gguf", "object": "model", "owned_by": "me"}],
}


def ollama_show(request):
    model = json.loads(request.body)["model"]
    arch, ctx = ("llama", 131072) if model.startswith("llama") else ("qwen3moe", 262144)
    body = {
        "details": {"family": arch},
        "model_info": {"general.architecture": arch, f"{arch}.context_length": ctx},
    }
    return 200, {}, json.dumps(body)


def mock_every_kind(r: responses.RequestsMock) -> None:
    r.get("https://api.anthropic.com/v1/models", json=ANTHROPIC_MODELS)
    r.get("https://api.openai.com/v1/models", json=OPENAI_MODELS)
    r.get("http://ollama.test:11434/api/tags", json=OLLAMA_TAGS)
    r.get("http://ollama.test:11434/api/ps", json=OLLAMA_PS)
    r.add_callback(responses.POST, "http://ollama.test:11434/api/show", callback=ollama_show)
    r.get("http://vllm.test:8000/v1/models", json=VLLM_MODELS)
    r.get("http://lmstudio.test:1234/api/v0/models", json=LMSTUDIO_V0)
    r.get("http://localai.test:8080/v1/models", json=LOCALAI_MODELS)
    r.get("http://llama.test:8080/v1/models", json=LLAMA_MODELS)
    r.get("http://compat.test:9000/v1/models", json=COMPAT_MODELS)


@pytest.fixture
def every_kind(write_config, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    write_config(EVERY_KIND)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        mock_every_kind(r)
        yield r


def models_json(capsys, *argv) -> list[dict]:
    assert run_command("models", ["--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def row(rows, model, provider):
    [found] = [r for r in rows if r["model"] == model and r["provider"] == provider]
    return found


# ---------------------------------------------------------------- every kind


def test_every_kind_lists_its_models_merged_with_the_registry(every_kind, capsys, monkeypatch):
    from rfctl import prices

    # rfctl's own registry alone (no genai-prices database): see the test below.
    monkeypatch.setattr(prices, "price_table", lambda cache_dir=None: prices.PriceTable())
    rows = models_json(capsys)

    sonnet = row(rows, "claude-sonnet-4-5-20250929", "claude")
    assert sonnet["registry_id"] == "claude-sonnet-4-5" and sonnet["available"] == "yes"
    assert (sonnet["input_price"], sonnet["output_price"]) == (3.0, 15.0)
    assert sonnet["context"] == 200000 and sonnet["max_output"] == 64000
    assert "vision" in sonnet["capabilities"] and sonnet["free"] is False
    assert row(rows, "claude-haiku-4-5-20251001", "claude")["registry_id"] == "claude-haiku-4-5"

    mini = row(rows, "gpt-4o-mini-2024-07-18", "openai")
    assert mini["registry_id"] == "gpt-4o-mini" and mini["context"] == 128000
    embed = row(rows, "text-embedding-3-small", "openai")
    assert embed["registry_id"] is None and embed["input_price"] is None  # unknown, not 0
    assert embed["available"] == "yes"

    llama = row(rows, "llama3.2:3b", "ollama")
    assert llama["context"] == 8192 and llama["loaded"] is True  # the loaded window (/api/ps)
    assert llama["registry_id"] == "llama3.2" and llama["free"] and llama["input_price"] == 0
    coder = row(rows, "qwen3-coder:30b", "ollama")
    assert coder["context"] == 262144 and coder["loaded"] is False  # trained (/api/show)
    assert "code" in coder["capabilities"]

    qwen = row(rows, "Qwen/Qwen2.5-7B-Instruct", "vllm")
    assert qwen["context"] == 32768 and qwen["registry_id"] == "qwen2.5"

    lms = row(rows, "qwen2.5-7b-instruct", "lmstudio")
    assert lms["loaded"] is True and lms["context"] == 32768
    assert row(rows, "text-embedding-nomic-embed-text-v1.5", "lmstudio")["loaded"] is False

    local = row(rows, "qwen2.5-7b-instruct", "localai")
    assert local["context"] == 32768  # LocalAI lists ids only: the registry fills in

    gemma = row(rows, "gemma-3-270m-q4_k_m.gguf", "llama")
    assert gemma["context"] == 2048  # the server's runtime window, not n_ctx_train
    assert gemma["registry_id"] == "gemma3-270m"

    assert row(rows, "mistral-7b-instruct-v0.3.Q4_K_M.gguf", "compat")["registry_id"] == "mistral"
    assert row(rows, "stub-echo", "offline")["available"] == "yes"

    for r in rows:
        if r["provider"] is not None:
            assert r["available"] == "yes", r


def test_configured_model_a_server_lacks_is_not_available(write_config, capsys):
    write_config(provider_toml("vllm", "vllm", "http://vllm.test:8000/v1", model="llama3.3"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        r.get("http://vllm.test:8000/v1/models", json=VLLM_MODELS)
        rows = models_json(capsys, "--provider", "vllm")
    assert row(rows, "llama3.3", "vllm")["available"] == "no"
    assert row(rows, "Qwen/Qwen2.5-7B-Instruct", "vllm")["available"] == "yes"
    assert all(r["provider"] == "vllm" for r in rows)  # no registry-only rows with -p


def test_llama_server_serves_any_model_name(write_config, capsys):
    # Single-model llama-server ignores the request's model: a configured
    # name that differs from the file name is still served.
    write_config(provider_toml("llama", "llamacpp", "http://llama.test:8080/v1", model="whatever"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        r.get("http://llama.test:8080/v1/models", json=LLAMA_MODELS)
        rows = models_json(capsys, "-p", "llama")
    assert [(r["model"], r["available"]) for r in rows] == [("gemma-3-270m-q4_k_m.gguf", "yes")]


def test_unreachable_server_makes_its_models_unavailable(write_config, capsys):
    port = free_port()
    write_config(provider_toml("ollama", "ollama", f"http://127.0.0.1:{port}", model="llama3.2"))
    rows = models_json(capsys, "--timeout", "2")
    assert row(rows, "llama3.2", "ollama")["available"] == "no"
    # Registry-only rows: no configured provider of that vendor answers.
    assert row(rows, "qwen3-coder", None)["available"] == "no"
    assert row(rows, "gpt-4o", None)["available"] == "no"


def test_registry_models_no_server_lists_are_not_available(every_kind, capsys):
    rows = models_json(capsys)
    assert row(rows, "claude-opus-5", None)["available"] == "no"
    assert row(rows, "codestral", None)["available"] == "no"
    # Served models are not repeated as registry-only rows.
    assert not [r for r in rows if r["provider"] is None and r["model"] == "claude-sonnet-4-5"]


def test_a_listing_error_that_is_not_a_connection_failure_is_unknown(write_config, capsys):
    write_config(
        provider_toml("compat", "openai-compatible", "http://compat.test:9000/v1", model="mistral")
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        r.get("http://compat.test:9000/v1/models", status=404, json={"error": "no such route"})
        rows = models_json(capsys)
    assert row(rows, "mistral", "compat")["available"] == "unknown"
    assert row(rows, "codestral", None)["available"] == "unknown"


# ---------------------------------------------------------------- filters and formats


def test_filters(every_kind, capsys):
    rows = models_json(capsys, "--available", "--capability", "vision")
    assert rows and all(r["available"] == "yes" and "vision" in r["capabilities"] for r in rows)
    assert {r["provider"] for r in rows} == {"claude", "openai"}
    rows = models_json(capsys, "-p", "ollama", "-p", "vllm")
    assert {r["provider"] for r in rows} == {"ollama", "vllm"}
    rows = models_json(capsys, "--capability", "code", "--capability", "reasoning")
    assert rows and all({"code", "reasoning"} <= set(r["capabilities"]) for r in rows)


def test_prices_come_from_genai_prices_with_their_source_and_date(every_kind, capsys):
    from importlib.metadata import version

    rows = models_json(capsys)
    source = f"genai-prices {version('genai-prices')}"
    embed = row(rows, "text-embedding-3-small", "openai")  # not in rfctl's registry
    assert (embed["input_price"], embed["price_source"]) == (0.02, source)
    mini = row(rows, "gpt-4o-mini-2024-07-18", "openai")
    assert (mini["input_price"], mini["output_price"], mini["price_source"]) == (0.15, 0.6, source)
    assert mini["prices_as_of"] is None or len(mini["prices_as_of"]) == 10  # an ISO date
    # A registry model the database lacks keeps rfctl's own price, labelled so.
    mythos = [r for r in rows if r["model"] == "claude-mythos-5"]
    assert mythos and all(r["price_source"] == "rfctl" for r in mythos)
    llama = row(rows, "llama3.2:3b", "ollama")
    assert llama["input_price"] == 0 and llama["price_source"] is None  # local: free, unpriced


def test_unknown_provider_filter_is_a_config_error(every_kind):
    from rfctl.errors import ConfigError

    with pytest.raises(ConfigError, match="nosuch"):
        run_command("models", ["-p", "nosuch"])


def test_tsv_has_a_header_and_the_documented_columns(every_kind, capsys):
    assert run_command("models", []) == 0  # stdout is not a terminal: TSV
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == [
        "model",
        "provider",
        "context",
        "max_output",
        "capabilities",
        "input_price",
        "output_price",
        "available",
    ]
    cells = {tuple(line.split("\t")[:2]): line.split("\t") for line in lines[1:]}
    assert all(len(c) == 8 for c in cells.values())
    assert cells[("gpt-4o-mini", "openai")][2:] == [
        "128000",
        "16384",
        "chat,code,vision",
        "0.15",
        "0.6",
        "yes",
    ]
    assert cells[("codestral", "-")][5:] == ["0", "0", "no"]
    assert run_command("models", ["--no-header", "-p", "vllm"]) == 0
    assert capsys.readouterr().out.startswith("Qwen/Qwen2.5-7B-Instruct\tvllm\t32768\t")


def test_jsonl_is_one_object_per_line(every_kind, capsys):
    assert run_command("models", ["--jsonl", "-p", "ollama"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["model"] for line in lines] == ["llama3.2:3b", "qwen3-coder:30b"]


def test_terminal_table_without_colour(every_kind, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert run_command("models", ["--format", "table", "--wide", "-p", "llama"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # NO_COLOR (set by conftest)
    assert "gemma-3-270m-q4_k_m.gguf" in out and "2K" in out and "free" in out
    assert out.splitlines()[0].split() == [
        "model",
        "provider",
        "context",
        "max",
        "out",
        "capabilities",
        "in",
        "$/M",
        "out",
        "$/M",
        "available",
    ]


# ---------------------------------------------------------------- --names


def test_names_come_from_the_registry_without_the_network(write_config, capsys):
    write_config(EVERY_KIND)
    with responses.RequestsMock() as r:  # any request would fail the test
        assert run_command("models", ["--names"]) == 0
        assert not r.calls
    names = capsys.readouterr().out.splitlines()
    assert "sonnet" in names and "gpt-4o" in names and "qwen3-coder" in names
    assert names == sorted(names, key=str.lower)
    assert run_command("models", ["--names", "--capability", "vision"]) == 0
    vision = capsys.readouterr().out.splitlines()
    assert "gpt-4o" in vision and "codestral" not in vision


def test_names_with_available_asks_the_servers(every_kind, capsys):
    assert run_command("models", ["--names", "--available", "-p", "ollama"]) == 0
    assert capsys.readouterr().out.splitlines() == ["llama3.2:3b", "qwen3-coder:30b"]


def test_names_imports_nothing_heavy():
    code = (
        "import sys; from rfctl.cli import main; main(['models', '--names']); "
        "print(sorted(m for m in ('rich', 'yaml', 'requests', 'tiktoken') "
        "if m in sys.modules), file=sys.stderr)"
    )
    for _ in range(2):  # the first run fills the registry cache
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=os.environ.copy(),
            check=True,
        )
    assert proc.stderr.strip() == "[]"
    assert "sonnet" in proc.stdout.splitlines()


def test_piped_output_does_not_import_rich():
    code = (
        "import sys; from rfctl.cli import main; main(['models', '--no-check']); "
        "print('rich' in sys.modules, file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert proc.stderr.strip() == "False"


def test_models_against_a_real_local_server(rfctl, write_config):
    routes = {("GET", "/v1/models"): (200, LLAMA_MODELS), ("GET", "/props"): (200, {})}
    with FakeServer(routes) as server:
        write_config(provider_toml("llama", "llamacpp", f"{server.url}/v1"))
        run = rfctl("models", "--json", "-p", "llama", "--timeout", "5")
    assert run.code == 0, run.err
    [r] = json.loads(run.out)
    assert r["model"] == "gemma-3-270m-q4_k_m.gguf" and r["available"] == "yes"


# ---------------------------------------------------------------- the fast path


def test_names_fast_takes_only_what_it_can_answer(capsys, tmp_path):
    from rfctl.commands.models import names_fast

    for argv in (
        ["--json"],
        [],
        ["--names", "--available"],
        ["--names", "-p", "x"],
        ["--names", "--capability", "telepathy"],
        ["--names", "--capability"],
        ["--names=yes"],
    ):
        assert names_fast(argv) is None, argv
    assert capsys.readouterr().out == ""

    assert names_fast(["--names", "--capability=vision", "--capability", "reasoning"]) == 0
    names = capsys.readouterr().out.splitlines()
    assert "claude-opus-5" in names and "gpt-4o" not in names and "o3-mini" not in names

    user = tmp_path / "m.yaml"
    user.write_text("models:\n  house-model: {vendor: local, capabilities: [chat]}\n")
    assert names_fast(["--models-file", str(user), "--names"]) == 0
    assert "house-model" in capsys.readouterr().out.splitlines()

    user.write_text("models:\n  house-model: {vendor: nowhere}\n")
    assert names_fast(["--names", f"--models-file={user}"]) == 78
    assert "'house-model'" in capsys.readouterr().err


def test_names_fast_prints_what_the_parsed_command_prints(capsys):
    from rfctl.commands.models import names_fast

    assert names_fast(["--names", "--capability", "code"]) == 0
    fast = capsys.readouterr().out
    assert run_command("models", ["--names", "--capability", "code"]) == 0
    assert capsys.readouterr().out == fast
