"""Helpers for the attachment, schema and reasoning tests: tiny files of each
type built byte by byte, a config of one provider per wire at mocked local
addresses, and the answers those servers give."""

from __future__ import annotations

import json
import struct
import zlib

import responses

from rfctl.providers.base import Request

OPENAI = "http://127.0.0.1:18001/v1"
LLAMA = "http://127.0.0.1:18002/v1"
VLLM = "http://127.0.0.1:18003/v1"
CLAUDE = "http://127.0.0.1:18004"
OLLAMA = "http://127.0.0.1:18005"
COMPAT = "http://127.0.0.1:18006/v1"

# ---------------------------------------------------------------- files


def png(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    crc = struct.pack(">I", zlib.crc32(chunk))
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + crc + iend


def jpeg(w: int, h: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = (
        b"\xff\xc2"
        + struct.pack(">HBHHB", 17, 8, h, w, 3)
        + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def gif(w: int, h: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", w, h) + b"\x00\x00\x00;"


def _riff(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_lossy(w: int, h: int) -> bytes:
    return _riff(b"VP8 ", b"\x30\x01\x00\x9d\x01\x2a" + struct.pack("<HH", w, h) + b"\x00" * 8)


def webp_lossless(w: int, h: int) -> bytes:
    bits = (w - 1) | ((h - 1) << 14)
    return _riff(b"VP8L", b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 4)


def webp_extended(w: int, h: int) -> bytes:
    payload = b"\x10\x00\x00\x00" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    return _riff(b"VP8X", payload)


def pdf(pages: int = 2) -> bytes:
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objs = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
        f"2 0 obj << /Type /Pages /Kids [{kids}] /Count {pages} >> endobj".encode(),
    ]
    objs += [f"{3 + i} 0 obj << /Type /Page /Parent 2 0 R >> endobj".encode() for i in range(pages)]
    return b"%PDF-1.4\n" + b"\n".join(objs) + b"\n%%EOF\n"


# ---------------------------------------------------------------- config

CONFIG = f"""
[providers.gpt]
kind = "openai"
base_url = "{OPENAI}"
api_key = "sk-test"
model = "gpt-4o"

[providers.llama]
kind = "llamacpp"
base_url = "{LLAMA}"

[providers.vllm]
kind = "vllm"
base_url = "{VLLM}"
model = "Qwen/Qwen3-8B"

[providers.claude]
kind = "anthropic"
base_url = "{CLAUDE}"
api_key = "sk-ant-test"
model = "claude-sonnet-4-5"

[providers.ollama]
kind = "ollama"
base_url = "{OLLAMA}"
model = "qwen3"

[providers.compat]
kind = "openai-compatible"
base_url = "{COMPAT}"
model = "whatever"
"""


class Mocked(responses.RequestsMock):
    """responses' mock that keeps the calls it saw after the block ends."""

    def __init__(self):
        super().__init__(assert_all_requests_are_fired=False)
        self.seen: list = []

    def __exit__(self, *exc):
        self.seen = list(self.calls)
        return super().__exit__(*exc)


def configure(write_config, text: str = CONFIG):
    """Write the config, private (it holds test keys), and point RFCTL_CONFIG at it."""
    path = write_config(text)
    path.chmod(0o600)
    return path


def mocked() -> Mocked:
    return Mocked()


def sent(rsps: Mocked, i: int = -1) -> dict:
    """The JSON body of the i-th request the mock saw."""
    return json.loads((rsps.seen or list(rsps.calls))[i].request.body)


# ---------------------------------------------------------------- answers


def openai_sse(text: str, *, reasoning: str = "", field: str = "reasoning_content", usage=None):
    chunks = []
    if reasoning:
        chunks.append({"choices": [{"index": 0, "delta": {field: reasoning}}]})
    chunks.append({"choices": [{"index": 0, "delta": {"content": text}}]})
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({"choices": [], "usage": usage or {"prompt_tokens": 10, "completion_tokens": 5}})
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return body


def add_openai(rsps, url: str, text: str, **kw) -> None:
    rsps.add(
        responses.POST,
        f"{url}/chat/completions",
        body=openai_sse(text, **kw),
        content_type="text/event-stream",
    )


def anthropic_sse(blocks, usage=None, stop="end_turn") -> str:
    """blocks: ("text", str) | ("thinking", str) | ("tool", json text)."""
    ev = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "model": "claude-sonnet-4-5",
                    "usage": {"input_tokens": 20},
                },
            },
        )
    ]
    for i, (kind, value) in enumerate(blocks):
        if kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": value},
                {"type": "signature_delta", "signature": "c2ln"},
            ]
        elif kind == "tool":
            start = {"type": "tool_use", "id": "toolu_1", "name": "rfctl_answer", "input": {}}
            half = len(value) // 2
            deltas = [
                {"type": "input_json_delta", "partial_json": value[:half]},
                {"type": "input_json_delta", "partial_json": value[half:]},
            ]
        else:
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": value}]
        ev.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": i, "content_block": start},
            )
        )
        for d in deltas:
            ev.append(
                ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
            )
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    ev.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop},
                "usage": usage or {"output_tokens": 30},
            },
        )
    )
    ev.append(("message_stop", {"type": "message_stop"}))
    return "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in ev)


def add_anthropic(rsps, blocks, **kw) -> None:
    rsps.add(
        responses.POST,
        f"{CLAUDE}/v1/messages",
        body=anthropic_sse(blocks, **kw),
        content_type="text/event-stream",
    )


def ollama_ndjson(text: str, thinking: str = "") -> str:
    recs = []
    if thinking:
        recs.append(
            {
                "model": "qwen3",
                "message": {"role": "assistant", "content": "", "thinking": thinking},
                "done": False,
            }
        )
    recs.append(
        {"model": "qwen3", "message": {"role": "assistant", "content": text}, "done": False}
    )
    recs.append(
        {
            "model": "qwen3",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 12,
            "eval_count": 7,
        }
    )
    return "".join(json.dumps(r) + "\n" for r in recs)


def add_ollama(rsps, text: str, thinking: str = "") -> None:
    rsps.add(
        responses.POST,
        f"{OLLAMA}/api/chat",
        body=ollama_ndjson(text, thinking),
        content_type="application/x-ndjson",
    )


def request(**kw) -> Request:
    kw.setdefault("prompt", "hi")
    kw.setdefault("max_tokens", 100)
    return Request(**kw)


def records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def feature_env(write_config, tmp_path):
    """The feature tests' config (CONFIG) and usage log: (env, log path)."""
    configure(write_config, CONFIG)
    log = tmp_path / "usage.jsonl"
    return {"RFCTL_USAGE_LOG": str(log)}, log
