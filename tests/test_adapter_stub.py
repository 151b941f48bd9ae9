"""The stub provider: offline, deterministic, cheap to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from adapter_helpers import FAST, provider

from rfctl.providers import make_adapter
from rfctl.providers.base import Request

STUB = make_adapter(provider("stub", name="stub"))


def test_echoes_the_prompt():
    result = STUB.generate(Request("hello  world\n"), FAST)
    assert result.text == "stub: hello  world"
    assert result.finish_reason == "stop"
    assert result.model == "stub-echo"
    assert result.stream is False and result.ttft_ms is None


def test_is_deterministic():
    a = STUB.generate(Request("same prompt", model="anything"), FAST)
    b = STUB.generate(Request("same prompt"), FAST)
    assert (a.text, a.response_id, a.usage) == (b.text, b.response_id, b.usage)
    assert a.model == b.model == "stub-echo"


def test_usage_is_an_estimate():
    u = STUB.generate(Request("one two three", system="be brief"), FAST).usage
    assert (u.input_tokens, u.output_tokens) == (5, 4)
    assert u.reported is False and u.source == "estimate"


def test_streams_word_by_word():
    got: list[str] = []
    result = STUB.generate(Request("a bb\nccc", stream=True), FAST, got.append)
    assert got == ["stub: ", "a ", "bb\n", "ccc"]
    assert "".join(got) == result.text
    assert result.stream and result.ttft_ms is not None and result.ttft_ms <= result.latency_ms


def test_max_tokens_cuts_with_length():
    result = STUB.generate(Request("one two three four", max_tokens=3), FAST)
    assert result.text == "stub: one two"
    assert result.finish_reason == "length" and result.usage.output_tokens == 3


def test_stop_sequence_cuts_with_stop():
    result = STUB.generate(Request("alpha beta END gamma", stop=["END", "zzz"]), FAST)
    assert result.text == "stub: alpha beta" and result.finish_reason == "stop"


def test_health_and_models():
    h = STUB.health(1)
    assert h.ok and h.models == ["stub-echo"]
    assert [m.id for m in STUB.list_models(1)] == ["stub-echo"]


def test_stub_path_does_not_import_requests():
    code = (
        "import sys\n"
        "from rfctl.config import builtin_stub\n"
        "from rfctl.providers import make_adapter\n"
        "from rfctl.providers.base import Request, Timeouts\n"
        "r = make_adapter(builtin_stub()).generate(Request('hi'), Timeouts())\n"
        "assert r.text == 'stub: hi', r.text\n"
        "assert 'requests' not in sys.modules, 'requests was imported'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
