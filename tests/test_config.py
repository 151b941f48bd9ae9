"""The config file: zero-config defaults, strict validation, exit 78."""

from __future__ import annotations

import os

import pytest

from rfctl import config
from rfctl.errors import ConfigError


def load_text(tmp_path, text: str) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return config.load(config.Paths(path, tmp_path / "m.yaml", tmp_path / "u", tmp_path / "s"))


def test_zero_config_has_the_documented_providers_in_order(tmp_path):
    cfg = config.load(
        config.Paths(tmp_path / "none.toml", tmp_path / "m", tmp_path / "u", tmp_path / "s")
    )
    assert not cfg.loaded_from_file
    assert [p.name for p in cfg.enabled()] == [
        "claude",
        "openai",
        "ollama",
        "vllm",
        "lmstudio",
        "localai",
    ]
    assert "stub" in cfg.providers and not cfg.providers["stub"].enabled


def test_ollama_host_is_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.5")
    cfg = config.load(
        config.Paths(tmp_path / "none.toml", tmp_path / "m", tmp_path / "u", tmp_path / "s")
    )
    assert cfg.providers["ollama"].base_url == "http://10.0.0.5:11434"


def test_key_status_never_shows_the_key(monkeypatch, tmp_path):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value-123")
    cfg = load_text(
        tmp_path,
        '[providers.c]\nkind = "anthropic"\n'
        '[providers.l]\nkind = "anthropic"\nbase_url = "http://127.0.0.1:9"\n'
        'api_key_env = "NOPE"\n',
    )
    assert cfg.providers["c"].key_status() == "present"
    assert cfg.providers["l"].key_status() == "not needed"


def test_priority_orders_providers_and_file_order_breaks_ties(tmp_path):
    cfg = load_text(
        tmp_path,
        """
[providers.a]
kind = "ollama"
priority = 5
[providers.b]
kind = "vllm"
priority = 1
[providers.c]
kind = "stub"
priority = 5
""",
    )
    assert [p.name for p in cfg.enabled()] == ["b", "a", "c"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("[defaults]\ntimeout = = 3\n", ["line 2", "column"]),
        ("[defaults]\ncolour = 1\n", ["unknown key", "colour"]),
        ('[providers.x]\nkind = "gemini"\n', ["unknown provider kind", "gemini"]),
        ('[providers.x]\nkind = "ollama"\ntimeout = "slow"\n', ["providers.x.timeout"]),
        ('[providers.x]\nkind = "ollama"\nenabled = 1\n', ["providers.x.enabled"]),
        ('[providers.x]\nbase_url = "http://h"\n', ["providers.x.kind is required"]),
        ('[defaults]\nstrategy = "fastest"\n', ["strategy", "fastest"]),
        ("[defaults]\nretries = true\n", ["defaults.retries"]),
        ("[surprise]\n", ["unknown key", "surprise"]),
    ],
)
def test_bad_config_is_a_config_error_naming_the_problem(tmp_path, text, words):
    with pytest.raises(ConfigError) as e:
        load_text(tmp_path, text)
    assert e.value.code == 78
    assert str(tmp_path / "config.toml") in e.value.message
    for word in words:
        assert word in e.value.message


def test_bad_config_exits_78_with_one_line(rfctl, write_config):
    write_config("[defaults\n")
    run = rfctl("config", "show")
    assert run.code == 78
    assert run.err.count("\n") == 1 and run.err.startswith("rfctl: error:")
    assert "line 1" in run.err


def test_named_config_that_does_not_exist_is_an_error(rfctl, tmp_path):
    run = rfctl("--config", str(tmp_path / "missing.toml"), "config", "show")
    assert run.code == 78
    assert "not found" in run.err


def test_key_in_a_world_readable_file_warns(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text('[providers.c]\nkind = "openai"\napi_key = "sk-in-file-123456789"\n')
    os.chmod(path, 0o644)
    config.load(config.Paths(path, tmp_path / "m", tmp_path / "u", tmp_path / "s"))
    err = capsys.readouterr().err
    assert "readable by others" in err
    assert "sk-in-file" not in err


def test_config_show_redacts_keys(rfctl, write_config):
    path = write_config('[providers.c]\nkind = "openai"\napi_key = "sk-in-file-123456789"\n')
    os.chmod(path, 0o600)
    run = rfctl("config", "show", "--json")
    assert run.code == 0, run.err
    assert "sk-in-file" not in run.out + run.err
    assert '"key": "present"' in run.out


def test_config_init_writes_a_loadable_file_once(rfctl, tmp_path):
    target = tmp_path / "new" / "config.toml"
    first = rfctl("--config", str(target), "config", "init")
    assert first.code == 0, first.err
    assert first.out.strip() == str(target)
    cfg = config.load(config.Paths(target, tmp_path / "m", tmp_path / "u", tmp_path / "s"))
    assert "claude" in cfg.providers
    again = rfctl("--config", str(target), "config", "init")
    assert again.code == 78 and "--force" in again.err


def test_config_path_lists_every_file(rfctl, monkeypatch, tmp_path):
    monkeypatch.setenv("RFCTL_USAGE_LOG", str(tmp_path / "log.jsonl"))
    run = rfctl("config", "path")
    assert run.code == 0
    assert f"usage_log\t{tmp_path / 'log.jsonl'}" in run.out.splitlines()
    names = [line.split("\t")[0] for line in run.out.splitlines()]
    assert names == [
        "config",
        "models",
        "usage_log",
        "state",
        "cache",
        "conversations",
        "templates",
    ]


@pytest.mark.parametrize(
    "text, words",
    [
        ("[defaults]\ntimeout = -5\n", ["defaults.timeout", "greater than 0"]),
        ("[defaults]\ndeadline = nan\n", ["defaults.deadline", "finite"]),
        ("[defaults]\nretries = -1\n", ["defaults.retries", "at least 0"]),
        ("[defaults]\nmax_tokens = 0\n", ["defaults.max_tokens", "at least 1"]),
        ("[defaults]\nbackoff = -1\n", ["defaults.backoff"]),
        ("[budget]\ndaily_usd = -2\n", ["budget.daily_usd"]),
        ('[providers.x]\nkind = "ollama"\ntimeout = -3\n', ["providers.x.timeout"]),
        ('[providers.x]\nkind = "ollama"\nbase_url = "http://[::1"\n', ["providers.x.base_url"]),
        ('[providers.x]\nkind = "ollama"\nbase_url = "http://h:99999"\n', ["providers.x.base_url"]),
        ('[providers.x]\nkind = "ollama"\nbase_url = "ftp://h"\n', ["http(s)"]),
    ],
)
def test_out_of_range_values_are_config_errors(tmp_path, text, words):
    with pytest.raises(ConfigError) as e:
        load_text(tmp_path, text)
    for word in words:
        assert word in e.value.message


def test_config_show_redacts_headers_and_url_credentials(rfctl, write_config):
    write_config(
        '[providers.x]\nkind = "vllm"\nbase_url = "http://user:hunter2pass@127.0.0.1:8000/v1"\n'
        '[providers.x.headers]\nAuthorization = "Bearer zzsecretkey123"\n'
    )
    for fmt in ([], ["--json"]):
        run = rfctl("config", "show", *fmt)
        assert run.code == 0, run.err
        assert "hunter2pass" not in run.out and "zzsecretkey123" not in run.out
        assert "127.0.0.1:8000" in run.out


def test_what_counts_as_free(tmp_path):
    cfg = load_text(
        tmp_path,
        """
[providers.box]
kind = "openai-compatible"
base_url = "http://127.0.0.1:8080/v1"
[providers.lan]
kind = "openai-compatible"
base_url = "http://192.168.1.20:8080/v1"
[providers.gateway]
kind = "openai-compatible"
base_url = "https://openrouter.ai/api/v1"
[providers.ollama]
kind = "ollama"
[providers.rented]
kind = "vllm"
base_url = "https://gpu.example.com/v1"
free = false
[providers.claude]
kind = "anthropic"
""",
    )
    free = {name: p.local for name, p in cfg.providers.items() if name != "stub"}
    assert free == {
        "box": True,
        "lan": True,
        "gateway": False,
        "ollama": True,
        "rented": False,
        "claude": False,
    }
