"""Local stand-ins for LLM servers, for the providers/models/probe tests.

- FakeServer: a real HTTP server on 127.0.0.1 answering canned routes (bodies
  as the real servers send them), recording what it was asked.
- silent_server(): a socket that accepts connections and never answers (the
  timeout case).
- run_command(): one subcommand in-process, parsed by its own add_parser, so
  a test exercises the real parser and run() without a child process.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeServer:
    """routes: {(method, path): (status, body)}; body a dict (JSON), str or bytes.

    A body may also be a callable taking the request headers, for servers that
    echo what they were sent.
    """

    def __init__(self, routes: dict):
        self.routes = dict(routes)
        self.requests: list[tuple[str, str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _answer(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                server.requests.append((method, self.path, dict(self.headers)))
                status, body = server.routes.get((method, path), (404, {"error": "not found"}))
                if callable(body):
                    body = body(dict(self.headers))
                if isinstance(body, dict | list):
                    data, ctype = json.dumps(body).encode(), "application/json"
                elif isinstance(body, str):
                    data, ctype = body.encode(), "text/plain"
                else:
                    data, ctype = body or b"", "application/octet-stream"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def silent_server():
    """A port that accepts connections and never says a word: base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                accepted.append(conn)  # held open, never answered
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        t.join(timeout=2)
        for conn in accepted:
            conn.close()
        sock.close()


# ---------------------------------------------------------------- canned servers

LLAMA_MODELS = {  # llama-server GET /v1/models, as a real one answers
    "models": [
        {
            "name": "gemma-3-270m-q4_k_m.gguf",
            "model": "gemma-3-270m-q4_k_m.gguf",
            "capabilities": ["completion"],
            "details": {"format": "gguf"},
        }
    ],
    "object": "list",
    "data": [
        {
            "id": "gemma-3-270m-q4_k_m.gguf",
            "aliases": ["gemma-3-270m-q4_k_m.gguf"],
            "tags": [],
            "object": "model",
            "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
            "created": 1795917562,
            "owned_by": "llamacpp",
            "meta": {
                "vocab_type": 1,
                "n_vocab": 262144,
                "n_ctx": 2048,
                "n_ctx_train": 32768,
                "n_embd": 640,
                "n_params": 268098176,
                "size": 246587904,
                "ftype": "Q4_K - Medium",
            },
        }
    ],
}
LLAMA_CHAT = {  # llama-server POST /v1/chat/completions, max_tokens 1
    "choices": [
        {
            "finish_reason": "length",
            "index": 0,
            "message": {"role": "assistant", "content": "Hello"},
        }
    ],
    "created": 1764374400,
    "model": "gemma-3-270m-q4_k_m.gguf",
    "object": "chat.completion",
    "usage": {"completion_tokens": 1, "prompt_tokens": 9, "total_tokens": 10},
    "id": "chatcmpl-Qm3xV8pL2kD9sN4tR7wY1zB6",
}


def llama_routes() -> dict:
    """A healthy llama-server (single-model mode)."""
    return {
        ("GET", "/health"): (200, {"status": "ok"}),
        ("GET", "/v1/health"): (200, {"status": "ok"}),
        ("GET", "/v1/models"): (200, LLAMA_MODELS),
        ("GET", "/models"): (200, LLAMA_MODELS),
        ("POST", "/v1/chat/completions"): (200, LLAMA_CHAT),
    }


VLLM_MODELS = {  # vLLM GET /v1/models (max_model_len, owned_by vllm)
    "object": "list",
    "data": [
        {
            "id": "Qwen/Qwen2.5-7B-Instruct",
            "object": "model",
            "created": 1764374400,
            "owned_by": "vllm",
            "root": "Qwen/Qwen2.5-7B-Instruct",
            "parent": None,
            "max_model_len": 32768,
            "permission": [],
        }
    ],
}


def vllm_routes() -> dict:
    return {
        ("GET", "/health"): (200, b""),
        ("GET", "/v1/models"): (200, VLLM_MODELS),
    }


def provider_toml(name: str, kind: str, base_url: str, **extra) -> str:
    lines = [f"[providers.{name}]", f'kind = "{kind}"', f'base_url = "{base_url}"']
    for key, value in extra.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n\n"


# ---------------------------------------------------------------- in-process runs


def run_command(name: str, argv: list[str]) -> int:
    """`rfctl NAME ARGV...` in this process, parsed by the command's own parser."""
    from rfctl.commands.parser import common_options

    module = importlib.import_module(f"rfctl.commands.{name}")
    common = common_options()
    parser = argparse.ArgumentParser(prog="rfctl", parents=[common])
    sub = parser.add_subparsers(dest="command")
    module.add_parser(sub, [common])
    args = parser.parse_args([name, *argv])
    return int(args.run(args) or 0)


# ---------------------------------------------------------------- one provider of every kind

OLLAMA_TAGS = {  # Ollama GET /api/tags
    "models": [
        {
            "name": "llama3.2:3b",
            "model": "llama3.2:3b",
            "modified_at": "2026-11-01T10:00:00Z",
            "size": 2019393189,
            "digest": "a80c4f17acd5",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "3.2B",
                "quantization_level": "Q4_K_M",
            },
        },
        {
            "name": "qwen3-coder:30b",
            "model": "qwen3-coder:30b",
            "modified_at": "2026-11-02T10:00:00Z",
            "size": 18556688641,
            "digest": "06c1097efce0",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "qwen3moe",
                "families": ["qwen3moe"],
                "parameter_size": "30.5B",
                "quantization_level": "Q4_K_M",
            },
        },
    ],
}

# Provider names, kinds and URLs the mocked servers of the tests answer on.
EVERY_KIND = (
    provider_toml("claude", "anthropic", "https://api.anthropic.com", model="claude-sonnet-4-5")
    + provider_toml("openai", "openai", "https://api.openai.com/v1", model="gpt-4o-mini")
    + provider_toml("ollama", "ollama", "http://ollama.test:11434", model="llama3.2:3b")
    + provider_toml("vllm", "vllm", "http://vllm.test:8000/v1")
    + provider_toml("lmstudio", "lmstudio", "http://lmstudio.test:1234/v1")
    + provider_toml("localai", "localai", "http://localai.test:8080/v1")
    + provider_toml("llama", "llamacpp", "http://llama.test:8080/v1", model="gemma3-270m")
    + provider_toml("compat", "openai-compatible", "http://compat.test:9000/v1")
    + provider_toml("offline", "stub", "stub://")
)
