"""Conversations and the response cache against a real llama-server: the
history is accepted on both of its wires (chat completions and Anthropic
messages), and a repeated request is answered from the cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import llama_providers

pytestmark = pytest.mark.llama


@pytest.fixture
def llama(write_config, llama_server):
    write_config(
        """
[defaults]
max_tokens = 8
retries = 0
"""
        + llama_providers(llama_server.url)
    )


def test_a_conversation_continues_across_both_wires(rfctl, llama):
    first = rfctl(
        "generate", "-p", "local", "-t", "0", "--new-conversation", "geo", "--", "Paris is"
    )
    assert first.code == 0 and first.out.strip(), first.err
    second = rfctl("generate", "-p", "messages", "-t", "0", "-c", "and Rome is")
    assert second.code == 0 and second.out.strip(), second.err
    third = rfctl("generate", "-p", "local", "-t", "0", "-c", "and Madrid is")
    assert third.code == 0, third.err
    shown = rfctl("conversations", "show", "geo", "--format", "json")
    turns = json.loads(shown.out)
    assert [t["role"] for t in turns] == ["user", "assistant"] * 3
    assert [t.get("provider") for t in turns[1::2]] == ["local", "messages", "local"]


def test_a_repeated_request_is_answered_from_the_cache(rfctl, llama):
    args = ("generate", "-p", "local", "-t", "0", "--cache", "The capital of France is")
    first, second = rfctl(*args), rfctl(*args)
    assert first.code == second.code == 0 and first.out == second.out
    log = Path(os.environ["XDG_STATE_HOME"]) / "rfctl" / "usage.jsonl"
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r.get("cached") for r in recs] == [None, True]
    assert recs[1]["output_tokens"] == recs[0]["output_tokens"]
