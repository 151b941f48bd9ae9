"""Shell completion: the committed scripts are what the parser generates, and
real bash, zsh and fish complete rfctl's commands, options and values with them."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest
from completion_helpers import (
    SCRIPTS,
    bash_complete,
    fish_complete,
    parsers,
    put_rfctl_on_path,
    require_tool,
    visible_options,
    zsh_complete,
)
from conftest import REPO

from rfctl import docs
from rfctl.commands.completions import tree
from rfctl.config import SHELLS

STRATEGIES = ["priority", "round-robin", "cost", "latency"]
COMMANDS = [
    "generate",
    "providers",
    "models",
    "usage",
    "probe",
    "config",
    "cache",
    "conversations",
    "templates",
    "completions",
    "local",
]


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    """`rfctl` on PATH runs this checkout (the scripts call it for names)."""
    monkeypatch.setenv("PATH", put_rfctl_on_path(tmp_path / "bin"))


@pytest.fixture
def lab_config(tmp_path):
    """A config with providers of our own, to name on the command line; its
    directory has a space, so the scripts must pass the path on intact."""
    (tmp_path / "my configs").mkdir()
    path = tmp_path / "my configs" / "lab.toml"
    path.write_text(
        '[providers.alpha]\nkind = "ollama"\nbase_url = "http://127.0.0.1:9"\n\n'
        '[providers."lab:gpu"]\nkind = "vllm"\nbase_url = "http://127.0.0.1:9/v1"\n'
    )
    return path


# ---------------------------------------------------------------- generated files


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_script_is_what_the_parser_generates(shell):
    committed = SCRIPTS[shell].read_text(encoding="utf-8")
    assert committed == docs.script(shell, tree()), (
        f"{SCRIPTS[shell].name} is stale: run `python -m rfctl.commands.completions --write`"
    )


def test_check_mode_passes_on_the_checkout_and_fails_on_a_stale_copy(tmp_path):
    check = [sys.executable, "-m", "rfctl.commands.completions", "--check"]
    ok = subprocess.run(check, capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr

    (tmp_path / "pyproject.toml").write_text("")
    for rel in docs.FILES.values():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, tmp_path / rel)
    with open(tmp_path / "completions" / "rfctl.fish", "a") as f:
        f.write("# edited by hand\n")
    stale = subprocess.run(
        [*check, "--root", str(tmp_path)], capture_output=True, text=True, cwd=REPO
    )
    assert stale.returncode == 1
    assert "completions/rfctl.fish" in stale.stderr
    assert "man/rfctl.1" not in stale.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_completions_command_prints_the_committed_script(rfctl, shell):
    run = rfctl("completions", shell)
    assert run.code == 0, run.err
    assert run.out == SCRIPTS[shell].read_text(encoding="utf-8")
    assert run.err == ""


def test_completions_without_a_shell_is_a_usage_error(rfctl):
    run = rfctl("completions")
    assert run.code == 2
    assert run.err.startswith("rfctl: error:") and "bash|zsh|fish" in run.err
    assert rfctl("completions", "tcsh").code == 2


def test_provider_names_for_the_scripts_come_from_the_config(rfctl, lab_config):
    run = rfctl("--config", str(lab_config), "completions", "--list", "providers")
    assert run.code == 0, run.err
    assert run.out.splitlines() == ["alpha", "lab:gpu", "stub"]


def test_provider_names_with_no_config_are_the_zero_config_ones(rfctl, monkeypatch):
    from rfctl.localserver import model as local_model

    monkeypatch.setattr(local_model, "extra_installed", lambda: False)
    run = rfctl("completions", "--list", "providers")
    assert run.code == 0, run.err
    assert run.out.split() == ["claude", "openai", "ollama", "vllm", "lmstudio", "localai", "stub"]


def test_the_local_extra_adds_the_local_provider(rfctl, monkeypatch):
    from rfctl.localserver import model as local_model

    monkeypatch.setattr(local_model, "extra_installed", lambda: True)
    run = rfctl("completions", "--list", "providers")
    assert run.out.split()[-2:] == ["local", "stub"]


def test_the_hidden_list_option_is_not_offered(rfctl):
    assert "--list" not in rfctl("completions", "--help").out
    assert "--list" not in bash_complete(["rfctl", "completions", "--"])


def test_model_names_command_exists_and_is_offline(rfctl):
    # The scripts complete -m with `rfctl models --names`; it must answer from
    # the registry alone (the test home has no servers and no keys).
    run = rfctl("models", "--names", timeout=10)
    assert run.code == 0, run.err
    names = run.out.split()
    assert names and len(names) == len(set(names))


# ---------------------------------------------------------------- bash


def test_bash_completes_a_command_name():
    assert bash_complete(["rfctl", "gen"]) == ["generate"]
    assert bash_complete(["rfctl", ""]) == COMMANDS


def test_bash_completes_an_option_name():
    assert "--strategy" in bash_complete(["rfctl", "generate", "--str"])
    assert set(bash_complete(["rfctl", "generate", "--str"])) == {
        "--strategy",
        "--stream",
        "--strict",
    }
    assert bash_complete(["rfctl", "generate", "--strat"]) == ["--strategy"]


def test_bash_offers_the_strategy_names_after_strategy():
    assert bash_complete(["rfctl", "generate", "--strategy", ""]) == STRATEGIES
    assert bash_complete(["rfctl", "generate", "--strategy", "r"]) == ["round-robin"]
    # --strategy=co: bash splits the word at "=".
    assert bash_complete(
        ["rfctl", "generate", "--strategy", "=", "co"], line="rfctl generate --strategy=co"
    ) == ["cost"]
    assert (
        bash_complete(["rfctl", "generate", "--strategy", "="], line="rfctl generate --strategy=")
        == STRATEGIES
    )
    # ... and when "=" is not a word break, the value comes with its option.
    assert bash_complete(["rfctl", "generate", "--strategy=co"], wordbreaks=" \t\n\"'><;|&(:") == [
        "--strategy=cost"
    ]


def test_bash_offers_every_option_of_every_command():
    for path, parser in parsers():
        offered = set(bash_complete(["rfctl", *path, "-"]))
        assert offered == visible_options(parser), f"rfctl {' '.join(path)}"


def test_bash_follows_nested_commands_and_skips_option_values():
    assert bash_complete(["rfctl", "config", ""]) == ["init", "show", "path"]
    assert "--force" in bash_complete(["rfctl", "config", "init", "--"])
    # "x.toml" is --config's value, not a command; "hello" is a prompt.
    assert bash_complete(["rfctl", "--config", "x.toml", "gen"]) == ["generate"]
    assert bash_complete(["rfctl", "-v", "generate", "--format", ""]) == ["text", "json"]
    assert bash_complete(["rfctl", "generate", "hello", "--for"]) == ["--format"]
    assert bash_complete(["rfctl", "generate", "-s", ""]) == []  # free text
    assert bash_complete(["rfctl", "completions", ""]) == ["bash", "zsh", "fish"]


def test_bash_completes_file_arguments(tmp_path):
    (tmp_path / "notes.md").write_text("x")
    (tmp_path / "usage-2026.jsonl").write_text("")
    assert bash_complete(["rfctl", "generate", "-o", "no"], cwd=tmp_path) == ["notes.md"]
    assert bash_complete(["rfctl", "usage", "usa"], cwd=tmp_path) == ["usage-2026.jsonl"]
    assert bash_complete(["rfctl", "--config", "no"], cwd=tmp_path) == ["notes.md"]


def test_bash_completes_provider_names_from_the_config_on_the_line(on_path, lab_config):
    # COMP_WORDS holds the words as typed, quotes included.
    quoted = shlex.quote(str(lab_config))
    words = ["rfctl", "--config", quoted, "generate", "-p", ""]
    assert bash_complete(words) == ["alpha", "lab:gpu", "stub"]
    escaped = str(lab_config).replace(" ", "\\ ")
    assert bash_complete(["rfctl", "--config", escaped, "probe", "al"]) == ["alpha"]
    words = ["rfctl", "--config", "=", quoted, "probe", "al"]
    line = f"rfctl --config={quoted} probe al"
    assert bash_complete(words, line=line) == ["alpha"]


def test_bash_completes_provider_names_from_the_config_in_the_environment(
    on_path, lab_config, monkeypatch
):
    monkeypatch.setenv("RFCTL_CONFIG", str(lab_config))
    assert bash_complete(["rfctl", "probe", ""]) == ["alpha", "lab:gpu", "stub"]
    assert bash_complete(["rfctl", "models", "--provider", "a"]) == ["alpha"]


def test_bash_keeps_names_with_a_colon_whole(on_path, lab_config):
    # bash splits "lab:g" at ":" and replaces only what follows it.
    quoted = shlex.quote(str(lab_config))
    words = ["rfctl", "--config", quoted, "generate", "-p", "lab", ":", "g"]
    line = f"rfctl --config {quoted} generate -p lab:g"
    assert bash_complete(words, line=line) == ["gpu"]


def test_bash_completes_model_names(on_path, rfctl):
    names = rfctl("models", "--names").out.split()
    assert bash_complete(["rfctl", "generate", "-m", ""]) == names
    first = names[0]
    assert first in bash_complete(["rfctl", "generate", "--model", first[:3]])


# ---------------------------------------------------------------- zsh


def test_zsh_script_parses_and_loads_without_error(tmp_path):
    zsh = require_tool("zsh")
    syntax = subprocess.run([zsh, "-n", str(SCRIPTS["zsh"])], capture_output=True, text=True)
    assert syntax.returncode == 0 and syntax.stderr == "", syntax.stderr
    load = subprocess.run(
        [
            zsh,
            "-f",
            "-c",
            f"autoload -Uz compinit && compinit -u -D && source {SCRIPTS['zsh']}"
            " && print -r -- $_comps[rfctl]",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert load.returncode == 0 and load.stderr == "", load.stderr
    assert load.stdout.strip() == "_rfctl"


@pytest.mark.parametrize("how", ["fpath", "source"])
def test_zsh_completes_command_names(how, tmp_path):
    assert zsh_complete("rfctl gen", how, tmp_path) == ["generate"]
    assert sorted(zsh_complete("rfctl ", how, tmp_path)) == sorted(COMMANDS)


def test_zsh_completes_options_and_their_values(tmp_path):
    assert "--strategy" in zsh_complete("rfctl generate --str", tmp_path=tmp_path)
    assert zsh_complete("rfctl generate --strategy ", tmp_path=tmp_path) == STRATEGIES
    assert zsh_complete("rfctl generate --strategy=c", tmp_path=tmp_path) == ["cost"]
    assert zsh_complete("rfctl config ", tmp_path=tmp_path) == ["init", "show", "path"]
    assert zsh_complete("rfctl --config x.toml gen", tmp_path=tmp_path) == ["generate"]
    # --stream and --no-stream exclude each other.
    assert "--no-stream" not in zsh_complete("rfctl generate --stream --no-", tmp_path=tmp_path)


def test_zsh_completes_provider_names(on_path, lab_config, tmp_path):
    line = f"rfctl --config {shlex.quote(str(lab_config))} generate -p "
    assert zsh_complete(line, tmp_path=tmp_path) == ["alpha", "lab:gpu", "stub"]


# ---------------------------------------------------------------- fish


def test_fish_script_loads_without_error(tmp_path):
    fish = require_tool("fish")
    syntax = subprocess.run(
        [fish, "--no-execute", str(SCRIPTS["fish"])], capture_output=True, text=True
    )
    assert syntax.returncode == 0 and syntax.stderr == "", syntax.stderr
    assert "generate" in fish_complete("rfctl ", cwd=tmp_path)


def test_fish_completes_commands_options_and_values(tmp_path):
    assert fish_complete("rfctl gen", tmp_path) == ["generate"]
    assert sorted(fish_complete("rfctl ", tmp_path)) == sorted(COMMANDS)
    assert set(fish_complete("rfctl generate --str", tmp_path)) == {
        "--strategy",
        "--stream",
        "--strict",
    }
    assert sorted(fish_complete("rfctl generate --strategy ", tmp_path)) == sorted(STRATEGIES)
    assert fish_complete("rfctl config ", tmp_path) == ["init", "path", "show"]
    assert fish_complete("rfctl --config x.toml gen", tmp_path) == ["generate"]
    assert fish_complete("rfctl generate hello conf", tmp_path) == []  # a prompt, not a command


def test_fish_completes_provider_names(on_path, lab_config, tmp_path):
    line = f"rfctl --config {shlex.quote(str(lab_config))} generate -p "
    assert sorted(fish_complete(line, tmp_path)) == ["alpha", "lab:gpu", "stub"]


# ---------------------------------------------------------------- packaging

DATA = {
    "share/bash-completion/completions/rfctl.bash": "completions/rfctl.bash",
    "share/zsh/site-functions/_rfctl": "completions/_rfctl",
    "share/fish/vendor_completions.d/rfctl.fish": "completions/rfctl.fish",
    "share/man/man1/rfctl.1": "man/rfctl.1",
}


def test_wheel_and_sdist_carry_the_completions_and_the_man_page(tmp_path):
    # Build offline from a copy (setuptools builds in the tree it is given).
    from importlib.metadata import version

    if int(version("setuptools").split(".")[0]) < 77:
        message = "building needs setuptools >= 77 (PEP 639 license string in pyproject.toml)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "rfctl", src / "rfctl", ignore=ignore)
    for name in ("completions", "man"):
        shutil.copytree(REPO / name, src / name)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    # setuptools logs to stdout too: the names come last, on a line of their own.
    build = (
        "from setuptools import build_meta as b\n"
        "sdist = b.build_sdist('dist'); wheel = b.build_wheel('dist')\n"
        "print('\\nBUILT', sdist, wheel)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", build], cwd=src, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    _, sdist_name, wheel_name = proc.stdout.splitlines()[-1].split()

    with zipfile.ZipFile(src / "dist" / wheel_name) as whl:
        data = {n.split(".data/data/", 1)[1]: n for n in whl.namelist() if ".data/data/" in n}
        assert set(data) == set(DATA)
        for installed, rel in DATA.items():
            assert whl.read(data[installed]) == (REPO / rel).read_bytes(), installed

    with tarfile.open(src / "dist" / sdist_name) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert set(DATA.values()) <= names
