"""The model registry: names as users and servers spell them, the user file, the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rfctl import registry
from rfctl.config import CAPABILITIES, Paths
from rfctl.errors import ConfigError


def paths_with(tmp_path, models_yaml: str | None = None) -> Paths:
    user = tmp_path / "models.yaml"
    if models_yaml is not None:
        user.write_text(models_yaml)
    return Paths(
        config=tmp_path / "config.toml",
        models=user,
        usage_log=tmp_path / "usage.jsonl",
        state=tmp_path / "state.json",
    )


@pytest.fixture
def reg(tmp_path):
    return registry.load(paths_with(tmp_path))


# ---------------------------------------------------------------- shipped content


def test_shipped_registry_is_valid_and_complete(reg):
    ids = {e.id for e in reg.entries()}
    for must in (
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "claude-opus-4-5",
        "gpt-4o",
        "gpt-4o-mini",
        "o3",
        "gpt-5",
        "codestral",
        "qwen3-coder",
        "qwen2.5-coder",
        "deepseek-coder",
        "deepseek-r1",
        "llama3.1",
        "llama3.2",
        "gemma3",
        "gemma3-270m",
        "mistral",
        "mixtral",
        "phi4",
        "gpt-oss",
    ):
        assert must in ids, must
    for e in reg.entries():
        assert e.vendor in registry.VENDORS, e.id
        assert set(e.capabilities) <= set(CAPABILITIES), e.id
        assert e.capabilities, e.id
        if e.vendor == "local":
            assert e.free and e.prices is None and e.context, e.id
        else:
            assert not e.free and e.prices and e.prices.as_of and e.context, e.id
            assert e.prices.input > 0 and e.prices.output > 0, e.id


def test_capabilities_agree_with_config():
    assert registry.CAPABILITIES == CAPABILITIES


def test_inferred_ids_are_marked_and_get_no_short_alias(reg):
    inferred = [e for e in reg.entries() if not e.verified]
    assert {e.id for e in inferred} >= {"claude-sonnet-5-5", "claude-opus-5-5"}
    for e in inferred:
        assert e.note
    for alias in ("sonnet", "opus", "haiku"):
        assert reg.resolve(alias).verified


@pytest.mark.parametrize(
    "name,expected",
    [
        # ids and aliases, case-insensitive
        ("sonnet", "claude-sonnet-5"),
        ("Haiku", "claude-haiku-5-5"),
        ("OPUS", "claude-opus-5"),
        ("GPT-4o-Mini", "gpt-4o-mini"),
        # dated snapshots
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("o3-2025-04-16", "o3"),
        # Ollama tags
        ("qwen3-coder:30b", "qwen3-coder"),
        ("llama3.2:3b", "llama3.2"),
        ("llama3.2:latest", "llama3.2"),
        ("gemma3:270m", "gemma3-270m"),
        ("gemma3:270m-it-qat", "gemma3-270m"),
        ("gemma3:4b-it-qat", "gemma3"),
        ("llama3.2-vision:11b", "llama3.2-vision"),
        ("mixtral:8x7b", "mixtral"),
        ("gpt-oss:20b", "gpt-oss"),
        # llama.cpp files and Hugging Face repositories (local families only)
        ("gemma-3-270m-q4_k_m.gguf", "gemma3-270m"),
        ("/models/qwen2.5-7b-instruct-q4_k_m.gguf", "qwen2.5"),
        ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5"),
        ("Qwen/Qwen2.5-Coder-7B-Instruct-GGUF", "qwen2.5-coder"),
        ("mistral-7b-instruct-v0.3.Q4_K_M.gguf", "mistral"),
        ("hf.co/unsloth/gemma-3-270m-it-GGUF:Q4_K_M", "gemma3-270m"),
        ("phi-4-Q4_K_M.gguf", "phi4"),
        ("gpt-oss-120b", "gpt-oss"),
        ("openai/gpt-4o", "gpt-4o"),
    ],
)
def test_resolve(reg, name, expected):
    entry = reg.resolve(name)
    assert entry is not None, name
    assert entry.id == expected


@pytest.mark.parametrize(
    "name",
    [
        # a longer cloud name is a different product with different prices
        "gpt-5.4-turbo",
        "gpt-4o-realtime-preview",
        "claude-sonnet-4-5-extra",
        # a word that is not size/quantisation means a different local model
        "mistral-nemo",
        "mistral-large",
        "codestral-2501",
        "deepseek-coder-v2-lite-instruct",
        "DeepSeek-R1-Distill-Qwen-7B",
        "qwen2.5vl",
        "llamafile",
        # nothing like it
        "",
        "   ",
        "x",
        "unknown-model:7b",
    ],
)
def test_resolve_does_not_over_match(reg, name):
    assert reg.resolve(name) is None


def test_names_are_ids_and_aliases_sorted(reg):
    names = reg.names()
    assert names == sorted(names, key=str.lower)
    assert "sonnet" in names and "claude-sonnet-4-5-20250929" in names and "gpt-4o" in names
    assert "sonnet" not in reg.names(aliases=False)


# ---------------------------------------------------------------- the user file


def test_user_file_overrides_field_by_field_and_adds_models(tmp_path):
    reg = registry.load(
        paths_with(
            tmp_path,
            """
models:
  gpt-4o:
    context: 64000            # this field only; the rest stays as shipped
  my-finetune:
    vendor: openai
    aliases: [ft]
    context: 16000
    capabilities: [chat]
    prices: {input: 3.0, output: 12.0, as_of: 2026-11-01}
""",
        )
    )
    gpt = reg.resolve("gpt-4o")
    assert gpt.context == 64000
    assert gpt.max_output == 16384 and gpt.prices.input == 2.50
    ft = reg.resolve("FT")
    assert ft.id == "my-finetune" and ft.prices.output == 12.0
    assert ft.prices.as_of == "2026-11-01"  # an unquoted YAML date is fine
    assert not ft.free


def test_user_alias_wins_over_a_shipped_one(tmp_path):
    reg = registry.load(
        paths_with(
            tmp_path,
            """
models:
  claude-sonnet-5-5:
    aliases: [sonnet]
""",
        )
    )
    assert reg.resolve("sonnet").id == "claude-sonnet-5-5"
    assert "sonnet" not in reg.resolve("claude-sonnet-5").aliases


def test_user_prices_replace_shipped_prices_whole(tmp_path):
    reg = registry.load(
        paths_with(
            tmp_path,
            """
models:
  gpt-4o:
    prices: {input: 1.0, output: 2.0}
""",
        )
    )
    p = reg.resolve("gpt-4o").prices
    assert (p.input, p.output, p.cached_input, p.as_of) == (1.0, 2.0, None, None)


def test_user_can_declare_prices_unknown(tmp_path):
    reg = registry.load(paths_with(tmp_path, "models:\n  gpt-4o:\n    prices: null\n"))
    assert reg.resolve("gpt-4o").prices is None


def test_empty_user_file_is_fine(tmp_path):
    assert registry.load(paths_with(tmp_path, "")).resolve("gpt-4o")


@pytest.mark.parametrize(
    "text,needles",
    [
        (
            "models:\n  gpt-4o:\n    context: lots\n",
            ["'gpt-4o'", "'context'", "an integer", "'lots'"],
        ),
        ("models:\n  gpt-4o:\n    capabilities: chat\n", ["'gpt-4o'", "'capabilities'"]),
        (
            "models:\n  gpt-4o:\n    capabilities: [chat, telepathy]\n",
            ["'gpt-4o'", "'capabilities'", "telepathy"],
        ),
        ("models:\n  gpt-4o:\n    free: maybe\n", ["'gpt-4o'", "'free'", "true or false"]),
        ("models:\n  gpt-4o:\n    contxt: 5\n", ["'gpt-4o'", "unknown field 'contxt'"]),
        (
            "models:\n  gpt-4o:\n    prices: {input: cheap, output: 1}\n",
            ["'gpt-4o'", "'prices.input'", "a number"],
        ),
        (
            "models:\n  gpt-4o:\n    prices: {output: 1}\n",
            ["'gpt-4o'", "'prices.input'", "required"],
        ),
        (
            "models:\n  gpt-4o:\n    prices: {input: -1, output: 1}\n",
            ["'prices.input'", "negative"],
        ),
        ("models:\n  gpt-4o:\n    context: 0\n", ["'gpt-4o'", "'context'", "positive"]),
        ("models:\n  gpt-4o:\n    vendor: google\n", ["'gpt-4o'", "'vendor'", "google"]),
        ("models:\n  brand-new:\n    context: 5\n", ["'brand-new'", "'vendor'", "required"]),
        ("models:\n  gpt-4o: [1, 2]\n", ["'gpt-4o'", "mapping"]),
        ("models: [gpt-4o]\n", ["'models' must be a mapping"]),
        ("gpt-4o:\n  context: 5\n", ["unknown top-level key 'gpt-4o'"]),
        ("models:\n  gpt-4o:\n    context: [1\n", ["line ", "column "]),
        ("models:\n  a: {vendor: local}\n  A: {vendor: local}\n", ["'A'", "defined twice"]),
    ],
)
def test_bad_user_file_is_a_config_error_naming_file_entry_and_field(tmp_path, text, needles):
    paths = paths_with(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        registry.load(paths)
    message = exc.value.message
    assert str(paths.models) in message
    for needle in needles:
        assert needle in message, (needle, message)
    assert "\n" not in message


def test_bad_registry_exits_78_naming_the_file(rfctl, tmp_path):
    user = tmp_path / "models.yaml"
    user.write_text("models:\n  gpt-4o:\n    max_output: many\n")
    run = rfctl("models", "--names", env={"RFCTL_MODELS": str(user)})
    assert run.code == 78
    assert run.out == ""
    assert run.err.startswith("rfctl: error: ")
    assert str(user) in run.err and "'gpt-4o'" in run.err and "'max_output'" in run.err
    assert "Traceback" not in run.err


def test_not_utf8_user_file(tmp_path):
    paths = paths_with(tmp_path)
    paths.models.write_bytes(b"models:\n  \xff\xfe: {}\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        registry.load(paths)


# ---------------------------------------------------------------- the cache


def cache_files():
    base = os.path.join(os.environ["XDG_CACHE_HOME"], "rfctl")
    return [os.path.join(base, f) for f in os.listdir(base)] if os.path.isdir(base) else []


def test_a_warm_load_does_not_import_yaml(tmp_path):
    code = (
        "import sys, rfctl.registry as r; reg = r.load(); "
        "print('yaml' in sys.modules, reg.resolve('sonnet').id)"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["True", "claude-sonnet-5"]
    second = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert second.stdout.split() == ["False", "claude-sonnet-5"]
    [cache] = cache_files()
    data = json.loads(Path(cache).read_text())
    assert data["key"]["version"] and len(data["entries"]) == len(registry.load().entries())


def test_editing_the_user_file_invalidates_the_cache(tmp_path):
    paths = paths_with(tmp_path, "models:\n  gpt-4o:\n    context: 11111\n")
    assert registry.load(paths).resolve("gpt-4o").context == 11111
    # Same size, same second: ctime and inode still tell the edit apart.
    paths.models.write_text("models:\n  gpt-4o:\n    context: 22222\n")
    registry._memo.clear()
    assert registry.load(paths).resolve("gpt-4o").context == 22222
    paths.models.unlink()
    registry._memo.clear()
    assert registry.load(paths).resolve("gpt-4o").context == 128000


def test_a_damaged_cache_is_rebuilt(tmp_path):
    paths = paths_with(tmp_path)
    registry.load(paths)
    [cache] = cache_files()
    with open(cache, "w") as f:
        f.write('{"key": ')
    registry._memo.clear()
    assert registry.load(paths).resolve("haiku").id == "claude-haiku-5-5"
    assert json.loads(Path(cache).read_text())["entries"]


def test_an_unwritable_cache_directory_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    registry._memo.clear()
    assert registry.load(paths_with(tmp_path)).resolve("opus").id == "claude-opus-5"


def test_an_invalid_file_is_never_cached(tmp_path):
    paths = paths_with(tmp_path, "models:\n  gpt-4o:\n    context: lots\n")
    for _ in range(2):
        registry._memo.clear()
        with pytest.raises(ConfigError):
            registry.load(paths)


def test_a_cache_of_another_shape_is_rebuilt(tmp_path):
    paths = paths_with(tmp_path)
    registry.load(paths)
    [cache] = cache_files()
    data = json.loads(Path(cache).read_text())
    data["entries"][0]["no_such_field"] = 1
    with open(cache, "w") as f:
        json.dump(data, f)
    registry._memo.clear()
    assert registry.load(paths).resolve("sonnet").id == "claude-sonnet-5"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"XDG_CONFIG_HOME": "/srv/conf"},
        {"RFCTL_MODELS": "~/my-models.yaml"},
        {"RFCTL_MODELS": "/etc/rfctl/models.yaml", "XDG_CONFIG_HOME": "/srv/conf"},
    ],
)
def test_user_file_agrees_with_config_paths(monkeypatch, env):
    import argparse

    from rfctl.config import resolve_paths

    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert registry.user_file() == resolve_paths().models
    args = argparse.Namespace(models_file="/opt/m.yaml")
    assert registry.user_file("/opt/m.yaml") == resolve_paths(args).models
