"""A managed llama-server through the real commands: config keys, `generate`
starting (and sharing) the server right before the first request, falling
back when it cannot start, max_tokens as a ceiling, and what `providers`,
`models` and `probe` show. The server is the fake llama-server of
local_helpers (starts in milliseconds, answers one streamed word)."""

from __future__ import annotations

import json

import pytest
from faults import FaultServer
from local_helpers import fake_fixture  # noqa: F401 - the `fake` fixture

from rfctl import config, localserver
from rfctl.localserver import model as local_model


@pytest.fixture
def managed(fake, write_config, tmp_path, monkeypatch):
    """A config with one managed provider `mine` (fake server, max_tokens 16);
    the requests it receives are in fake.requests()."""
    seen = tmp_path / "requests.jsonl"
    monkeypatch.setenv("FAKE_LLAMA_REQUESTS", str(seen))
    fake.requests = lambda: (
        [json.loads(x) for x in seen.read_text().splitlines()] if seen.exists() else []
    )
    fake.toml = (
        "[providers.mine]\n"
        'kind = "llamacpp"\n'
        f'model_file = "{fake.model}"\n'
        f'server_binary = "{fake.binary}"\n'
        'model = "tiny"\n'
        "max_tokens = 16\n"
    )
    write_config(fake.toml)
    fake.write_config = write_config
    return fake


def log_records() -> list[dict]:
    path = config.resolve_paths().usage_log
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_first_call_starts_the_server_and_later_calls_share_it(rfctl, managed):
    first = rfctl("generate", "-p", "mine", "--max-tokens", "500", "hi")
    assert (first.code, first.out, first.err) == (0, "Paris\n", "")
    second = rfctl("generate", "-p", "mine", "hi")
    assert second.code == 0 and second.out == "Paris\n"
    assert len(managed.started()) == 1  # one server for both calls
    # max_tokens is a ceiling: 500 asked, 16 sent; the default 1024 too.
    assert [r["max_tokens"] for r in managed.requests()] == [16, 16]
    recs = log_records()
    assert [(r["provider"], r["model"], r["status"], r["cost_usd"]) for r in recs] == [
        ("mine", "tiny", "ok", 0.0),
        ("mine", "tiny", "ok", 0.0),
    ]
    assert "price_source" not in recs[0]  # free: never priced


def test_a_smaller_max_tokens_is_sent_as_asked(rfctl, managed):
    assert rfctl("generate", "-p", "mine", "--max-tokens", "5", "hi").code == 0
    assert [r["max_tokens"] for r in managed.requests()] == [5]


def test_dry_run_starts_no_server(rfctl, managed):
    run = rfctl("generate", "-p", "mine", "--dry-run", "--format", "json", "hi")
    assert run.code == 0, run.err
    assert [c["provider"] for c in json.loads(run.out)["candidates"]] == ["mine"]
    assert managed.started() == [] and managed.requests() == []


def test_a_server_that_cannot_start_falls_back_to_the_next_provider(rfctl, managed, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_MODE", "crash")
    with FaultServer() as srv:
        managed.write_config(
            managed.toml + f'[providers.next]\nkind = "openai-compatible"\nbase_url = "{srv.url}"\n'
        )
        run = rfctl("generate", "hi")
        assert run.code == 0, run.err
        assert run.out.strip() and "Traceback" not in run.err
        assert len(srv.chat()) == 1
    first, second = log_records()
    assert (first["provider"], first["status"]) == ("mine", "error")
    assert "llama-server exited with status 1" in first["error"]
    assert (second["provider"], second["status"]) == ("next", "ok")


def test_a_server_that_cannot_start_alone_is_one_error_line(rfctl, managed, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_MODE", "crash")
    run = rfctl("generate", "-p", "mine", "hi")
    assert run.code == 69 and run.out == ""
    (line,) = run.err.splitlines()
    assert line.startswith("rfctl: error: ") and "llama-server exited with status 1" in line
    assert "mine" in line and "(log: " in line


def test_providers_shows_managed_not_running_then_the_servers_url(rfctl, managed):
    rows = json.loads(rfctl("providers", "mine", "--format", "json").out)
    assert rows[0]["base_url"] == "managed, not running"
    assert rows[0]["detail"] == "starts on first use"
    assert managed.started() == []  # looking starts nothing
    url = localserver.ensure_running(config.load().provider("mine"), config.resolve_paths())
    (row,) = json.loads(rfctl("providers", "mine", "--format", "json").out)
    assert row["base_url"] == url and row["reachable"] is True


def test_models_of_a_named_managed_provider_starts_its_server(rfctl, managed):
    run = rfctl("models", "-p", "mine", "--format", "json")
    assert run.code == 0, run.err
    assert [(r["model"], r["available"]) for r in json.loads(run.out)] == [("tiny", "yes")]
    assert len(managed.started()) == 1


def test_models_without_naming_it_does_not_start_it(rfctl, managed):
    run = rfctl("models", "--format", "json")
    assert run.code == 0, run.err
    rows = [r for r in json.loads(run.out) if r["provider"] == "mine"]
    assert [(r["model"], r["available"]) for r in rows] == [("tiny", "unknown")]
    assert managed.started() == []


def test_probe_starts_the_server_it_probes(rfctl, managed):
    run = rfctl("probe", "mine", "--json")
    assert run.code == 0, run.out
    assert json.loads(run.out)["providers"][0]["up"] is True
    assert len(managed.started()) == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "openai"\nmodel_file = "x.gguf"', 'model_file is only for kind "llamacpp"'),
        ('kind = "llamacpp"\nidle_timeout = 60', "idle_timeout needs model_file"),
        (
            'kind = "llamacpp"\nmodel_file = "x.gguf"\nbase_url = "http://127.0.0.1:9/v1"',
            "base_url and model_file exclude each other",
        ),
        (
            'kind = "llamacpp"\nmodel_file = "x.gguf"\nserver_args = ["--port=1"]',
            "server_args: --port=1 is set by rfctl",
        ),
        (
            'kind = "llamacpp"\nmodel_file = "x.gguf"\nidle_timeout = 0',
            "idle_timeout must be greater",
        ),
        (
            'kind = "llamacpp"\nmodel_file = "x.gguf"\nmax_tokens = 0',
            "max_tokens must be at least 1",
        ),
        (
            'kind = "llamacpp"\nmodel_file = "x.gguf"\nserver_args = "-t 2"',
            "server_args must be an array",
        ),
    ],
)
def test_managed_keys_are_checked(rfctl, write_config, table, message):
    write_config(f"[providers.x]\n{table}\n")
    run = rfctl("generate", "-p", "x", "hi")
    assert run.code == 78 and run.out == ""
    (line,) = run.err.splitlines()
    assert line.startswith("rfctl: error: ") and message in line, line


def test_the_local_extra_brings_a_local_provider_only_dash_p_reaches(rfctl, monkeypatch):
    monkeypatch.setattr(local_model, "extra_installed", lambda: True)
    p = config.load().provider("local")
    assert (p.kind, p.model_file, p.enabled) == ("llamacpp", "bundled", False)
    assert p.max_tokens == local_model.BUNDLED_MAX_TOKENS and p.model == "gemma3-270m"
    plan = json.loads(rfctl("generate", "--dry-run", "--format", "json", "hi").out)
    assert "local" not in [c["provider"] for c in plan["candidates"]]
    plan = json.loads(rfctl("generate", "-p", "local", "--dry-run", "--format", "json", "hi").out)
    assert [c["provider"] for c in plan["candidates"]] == ["local"]


def test_without_the_extra_there_is_no_local_provider(rfctl, monkeypatch):
    monkeypatch.setattr(local_model, "extra_installed", lambda: False)
    assert "local" not in config.load().providers
    run = rfctl("generate", "-p", "local", "hi")
    assert run.code == 78 and "no provider named 'local'" in run.err
