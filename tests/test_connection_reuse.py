"""One requests.Session per adapter, and its kept-alive connection reused:
streamed calls that stop reading at [DONE] still hand the connection back."""

from __future__ import annotations

import json

from faults import FaultServer

from rfctl import config, router
from rfctl.providers import make_adapter
from rfctl.providers.base import Request, Timeouts


def provider(url: str) -> config.ProviderConfig:
    return config.ProviderConfig("local", "vllm", url, None, model="m")


def test_three_streamed_calls_share_one_connection():
    with FaultServer() as srv:
        adapter = make_adapter(provider(srv.url))
        for _ in range(3):
            result = adapter.generate(Request("hi", stream=True, max_tokens=8), Timeouts())
            assert result.text
        assert len(srv.chat()) == 3
        assert srv.connections == 1


def test_three_plain_calls_share_one_connection():
    with FaultServer() as srv:
        adapter = make_adapter(provider(srv.url))
        for _ in range(3):
            adapter.generate(Request("hi", stream=False, max_tokens=8), Timeouts())
        assert srv.connections == 1


def test_a_jsonl_batch_reuses_the_connection(rfctl, write_config):
    with FaultServer() as srv:
        write_config(f'[providers.local]\nkind = "vllm"\nbase_url = "{srv.url}"\nmodel = "m"\n')
        lines = "".join(json.dumps(f"prompt {i}") + "\n" for i in range(5))
        run = rfctl("generate", "--jsonl", "-j", "1", input=lines)
        assert run.code == 0, run.err
        assert all(json.loads(line)["ok"] for line in run.out.splitlines())
        assert len(srv.chat()) == 5
        assert srv.connections == 1


def test_the_router_keeps_one_adapter_per_provider(tmp_path):
    p = provider("http://127.0.0.1:9/v1")
    first = router._adapter(p, make_adapter)
    assert router._adapter(p, make_adapter) is first
