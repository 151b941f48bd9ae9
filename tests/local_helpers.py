"""Helpers for the managed llama-server tests: a fake llama-server (a tiny
HTTP server answering /health, fast to start) and ensure_running in a child
process, for what needs several processes at once."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import REPO

from rfctl import localserver
from rfctl.localserver import runtime

_FAKE = """\
import http.server, json, os, signal, sys
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
print("fake llama-server: loading", " ".join(args), flush=True)
starts = os.environ.get("FAKE_LLAMA_STARTS")
if starts:
    with open(starts, "a") as f:
        f.write(f"{os.getpid()}\\n")
if os.environ.get("FAKE_LLAMA_MODE") == "crash":
    print("0.00.001.000 E srv  load_model: failed to load model 'x.gguf'", flush=True)
    print("0.00.001.100 I srv  operator(): cleaning up before exit...", flush=True)
    sys.exit(1)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b'{"status":"ok"}'
        elif self.path == "/slots" and os.environ.get("FAKE_LLAMA_MODE") == "busy":
            body = b'[{"id": 0, "is_processing": true}]'
        elif self.path == "/v1/models":
            alias = args[args.index("--alias") + 1] if "--alias" in args else "model"
            body = json.dumps({"object": "list", "data": [{"id": alias}]}).encode()
        else:
            body = b"[]"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        # A chat completion, streamed as llama-server streams it; the request
        # body is kept (FAKE_LLAMA_REQUESTS) for tests that check what was asked.
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen = os.environ.get("FAKE_LLAMA_REQUESTS")
        if seen:
            with open(seen, "a") as f:
                f.write(body.decode() + "\\n")
        alias = args[args.index("--alias") + 1] if "--alias" in args else "model"
        chunks = [
            {"model": alias, "choices": [{"index": 0, "delta": {"content": "Paris"}}]},
            {"model": alias, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}},
        ]
        out = "".join(f"data: {json.dumps(c)}\\n\\n" for c in chunks) + "data: [DONE]\\n\\n"
        data = out.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        print("fake llama-server: request", self.path, flush=True)

signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def fake_llama_server(directory: Path) -> Path:
    """An executable named llama-server that behaves like one, as far as
    process management can tell."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "llama-server"
    path.write_text(f"#!{sys.executable}\n{_FAKE}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def provider(model_file, idle_timeout: float | None = None, name: str = "local", **extra):
    """What ensure_running reads of a provider's config."""
    return SimpleNamespace(
        name=name,
        kind="llamacpp",
        model=None,
        model_file=str(model_file),
        idle_timeout=idle_timeout,
        **extra,
    )


def paths(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(state=tmp_path / "state" / "state.json")


_CHILD = """\
import json, sys
from types import SimpleNamespace as N
from rfctl.errors import RfctlError
from rfctl.localserver import ensure_running
p = N(**json.loads(sys.argv[1]))
try:
    print(ensure_running(p, N(state=sys.argv[2])))
except RfctlError as e:
    print("error:", e.message, file=sys.stderr)
    sys.exit(e.code)
"""


def ensure_in_child(p: SimpleNamespace, state: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, json.dumps(vars(p)), str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture(name="fake")
def fake_fixture(tmp_path, monkeypatch):
    """A fake llama-server and a model file; everything left running is stopped."""
    binary = fake_llama_server(tmp_path / "bin")
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    starts = tmp_path / "starts"
    monkeypatch.setenv("FAKE_LLAMA_STARTS", str(starts))
    monkeypatch.setenv("RFCTL_STATE", str(paths(tmp_path).state))
    env = SimpleNamespace(binary=binary, model=model, paths=paths(tmp_path), starts=starts)
    env.files = runtime.files_for(env.paths.state.parent, "local")
    env.started = lambda: starts.read_text().split() if starts.exists() else []
    env.provider = lambda model_file, **kw: provider(model_file, server_binary=str(binary), **kw)
    yield env
    localserver.stop(env.paths)
