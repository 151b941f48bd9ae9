"""Conversations through `generate`: -c, --conversation ID and
--new-conversation [NAME]; the history as each wire wants it (one leading
system prompt, alternating turns, never ending on an answer); fallback to a
provider of another kind mid-conversation; trimming to the context window."""

from __future__ import annotations

import json

import pytest
import responses
from adapter_helpers import adapter, events
from faults import OK, Status
from reuse_helpers import state_dir, usage_records

from rfctl import conversations
from rfctl.providers.base import Request, history

HISTORY = [
    {"role": "user", "content": "My name is Ada."},
    {"role": "assistant", "content": "Hello Ada."},
]


def store() -> conversations.Store:
    return conversations.Store(state_dir() / "conversations")


def sent_messages(srv, n=-1) -> list[dict]:
    return srv.chat()[n].body["messages"]


# ---------------------------------------------------------------- the history per wire


def test_history_alternates_starts_with_a_question_and_ends_with_an_answer():
    req = Request(
        "new question",
        messages=[
            {"role": "assistant", "content": "an answer without its question"},
            {"role": "user", "content": "q1"},
            {"role": "user", "content": "q1, again"},
            {"role": "system", "content": "stays in Request.system"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2, never answered"},
        ],
    )
    assert history(req) == [
        {"role": "user", "content": "q1\n\nq1, again"},
        {"role": "assistant", "content": "a1"},
    ]
    assert history(Request("x")) == []


@pytest.mark.parametrize("kind", ["openai", "llamacpp", "vllm", "ollama"])
def test_openai_style_and_ollama_send_one_system_message_then_the_turns(kind):
    a = adapter(kind, key="k", model="m")
    body = a.payload(Request("And mine?", system="Be terse.", messages=HISTORY), "m")
    assert body["messages"] == [
        {"role": "system", "content": "Be terse."},
        *HISTORY,
        {"role": "user", "content": "And mine?"},
    ]


def test_anthropic_sends_the_system_prompt_apart_and_the_turns_in_order():
    a = adapter("anthropic", key="k", model="claude-sonnet-4-5")
    body = a.payload(Request("And mine?", system="Be terse.", messages=HISTORY), "m")
    assert body["system"] == "Be terse."
    assert body["messages"] == [*HISTORY, {"role": "user", "content": "And mine?"}]


# ---------------------------------------------------------------- through generate


def test_a_new_conversation_then_continue_sends_the_history(rfctl, local):
    srv = local()
    srv.then(OK("Hello Ada."), OK("Your name is Ada."))
    r1 = rfctl("generate", "--new-conversation", "chat1", "--", "My name is Ada.")
    assert (r1.code, r1.out) == (0, "Hello Ada.\n")
    r2 = rfctl("generate", "-c", "What is my name?")
    assert (r2.code, r2.out) == (0, "Your name is Ada.\n")
    assert sent_messages(srv, 0) == [{"role": "user", "content": "My name is Ada."}]
    assert sent_messages(srv, 1) == [*HISTORY, {"role": "user", "content": "What is my name?"}]
    turns = store().load("chat1")
    assert [(t.role, t.content) for t in turns] == [
        ("user", "My name is Ada."),
        ("assistant", "Hello Ada."),
        ("user", "What is my name?"),
        ("assistant", "Your name is Ada."),
    ]
    answer = turns[-1]
    assert answer.provider == "local" and answer.model == "m1"
    assert answer.request_id == usage_records()[-1]["request_id"]


def test_continue_without_a_conversation_starts_one(rfctl, local):
    srv = local()
    assert rfctl("generate", "-c", "hi").code == 0
    assert rfctl("generate", "-c", "again").code == 0
    assert len(sent_messages(srv, 1)) == 3
    (only,) = store().list()
    assert only.turns == 4


def test_continue_picks_the_most_recently_used_conversation(rfctl, local):
    srv = local()
    rfctl("generate", "--new-conversation", "a", "--", "about a")
    rfctl("generate", "--new-conversation", "b", "--", "about b")
    rfctl("generate", "--conversation", "a", "more about a")
    rfctl("generate", "-c", "and more")
    assert sent_messages(srv)[0] == {"role": "user", "content": "about a"}


def test_an_unknown_conversation_is_one_line_exit_65_and_sends_nothing(rfctl, local):
    srv = local()
    r = rfctl("generate", "--conversation", "nope", "hi")
    assert r.code == 65 and r.err.count("\n") == 1 and "nope" in r.err
    assert srv.chat() == []


def test_a_name_already_in_use_cannot_start_a_new_conversation(rfctl, local):
    local()
    rfctl("generate", "--new-conversation", "dup", "--", "hi")
    r = rfctl("generate", "--new-conversation", "dup", "--", "hi")
    assert r.code == 65 and "--conversation dup" in r.err and "Traceback" not in r.err


def test_the_conversation_flags_exclude_each_other(rfctl, local):
    local()
    r = rfctl("generate", "-c", "--conversation", "x", "hi")
    assert r.code == 2 and r.err.count("\n") == 1


def test_a_failed_call_adds_no_turns(rfctl, local):
    srv = local()
    rfctl("generate", "--new-conversation", "f", "--", "first")
    srv.then(Status(500))
    assert rfctl("generate", "-c", "second").code != 0
    assert len(store().load("f")) == 2


def test_the_system_prompt_is_kept_and_sent_first_on_every_turn(rfctl, local):
    srv = local()
    rfctl("generate", "--new-conversation", "s", "-s", "Answer in French.", "--", "hi")
    rfctl("generate", "-c", "again")
    assert sent_messages(srv)[0] == {"role": "system", "content": "Answer in French."}
    roles = [t.role for t in store().load("s")]
    assert roles == ["system", "user", "assistant", "user", "assistant"]


def test_a_cached_answer_is_still_added_to_the_conversation(rfctl, local):
    srv = local()
    rfctl("generate", "--cache", "--new-conversation", "x", "--", "hi")
    rfctl("generate", "--cache", "--new-conversation", "y", "--", "hi")
    assert len(srv.chat()) == 1
    assert [t.role for t in store().load("y")] == ["user", "assistant"]


def test_rfctl_conversations_lists_and_shows_what_generate_kept(rfctl, local):
    local()
    rfctl("generate", "--new-conversation", "demo", "--", "hi")
    listed = rfctl("conversations", "--format", "json")
    (row,) = json.loads(listed.out)
    assert row["id"] == "demo" and row["turns"] == 2 and row["model"] == "m1"
    shown = rfctl("conversations", "show", "demo")
    assert shown.code == 0 and "## user" in shown.out and "hi" in shown.out
    assert "## assistant" in shown.out and "local/m1" in shown.out


# ---------------------------------------------------------------- fallback to another kind


def anthropic_stream(text: str) -> str:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 30, "output_tokens": 1},
        },
    }
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 3},
    }
    return events(
        ("message_start", start), ("content_block_delta", delta), ("message_delta", end)
    ) + ('event: message_stop\ndata: {"type": "message_stop"}\n\n')


def test_a_conversation_moves_to_another_kind_by_fallback(rfctl, write_config, server):
    write_config(
        "[defaults]\nretries = 0\ntimeout = 5\n\n"
        f'[providers.local]\nkind = "openai-compatible"\nbase_url = "{server.url}"\nmodel = "m1"\n\n'
        '[providers.claude]\nkind = "anthropic"\nbase_url = "http://127.0.0.1:9"\n'
        'model = "claude-x"\n'
    )
    server.then(OK("Hello Ada."))
    assert (
        rfctl("generate", "--new-conversation", "fb", "-s", "Be kind.", "--", "I am Ada.").code == 0
    )
    server.then(Status(503))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add_passthru(server.url)
        rsps.add(
            "POST",
            "http://127.0.0.1:9/v1/messages",
            body=anthropic_stream("You are Ada."),
            content_type="text/event-stream",
        )
        r = rfctl("generate", "-c", "Who am I?")
        sent = json.loads(rsps.calls[-1].request.body)
    assert (r.code, r.out) == (0, "You are Ada.\n")
    assert sent["system"] == "Be kind."
    assert sent["messages"] == [
        {"role": "user", "content": "I am Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {"role": "user", "content": "Who am I?"},
    ]
    last = store().load("fb")[-1]
    assert (last.provider, last.content) == ("claude", "You are Ada.")


# ---------------------------------------------------------------- trimming


def long_history(name: str, turns: int = 6) -> None:
    s = store()
    s.new(name)
    for i in range(turns):
        s.append(
            name,
            conversations.Turn("user", f"question {i} " + "word " * 60),
            conversations.Turn("assistant", f"answer {i} " + "word " * 60),
        )


def test_the_oldest_turns_are_left_out_with_a_warning_when_the_history_does_not_fit(
    rfctl, write_config, server, tmp_path, monkeypatch
):
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  small-model:\n    vendor: local\n    context: 400\n")
    monkeypatch.setenv("RFCTL_MODELS", str(models))
    write_config(
        "[defaults]\nretries = 0\nmax_tokens = 50\n\n"
        f'[providers.local]\nkind = "openai-compatible"\nbase_url = "{server.url}"\n'
        'model = "small-model"\n'
    )
    long_history("long")
    r = rfctl("generate", "--conversation", "long", "latest question")
    assert r.code == 0
    assert r.err.startswith("rfctl: warning: the history does not fit the context window")
    assert r.err.count("\n") == 1
    sent = sent_messages(server)
    assert 1 < len(sent) < 13
    assert sent[0]["role"] == "user" and sent[-1] == {"role": "user", "content": "latest question"}
    assert "answer 5" in sent[-2]["content"]  # the newest exchange is kept
    assert len(store().load("long")) == 14  # nothing is removed from the store


def test_strict_refuses_to_leave_turns_out(rfctl, write_config, server, tmp_path, monkeypatch):
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  small-model:\n    vendor: local\n    context: 400\n")
    monkeypatch.setenv("RFCTL_MODELS", str(models))
    write_config(
        "[defaults]\nretries = 0\nmax_tokens = 50\n\n"
        f'[providers.local]\nkind = "openai-compatible"\nbase_url = "{server.url}"\n'
        'model = "small-model"\n'
    )
    long_history("long")
    r = rfctl("generate", "--conversation", "long", "--strict", "latest question")
    assert r.code == 65 and r.err.count("\n") == 1 and "would be dropped" in r.err
    assert server.chat() == []


def test_a_history_that_fits_is_sent_whole_without_a_warning(rfctl, local):
    srv = local()
    long_history("fits", turns=2)
    r = rfctl("generate", "--conversation", "fits", "next")
    assert r.code == 0 and r.err == ""
    assert len(sent_messages(srv)) == 5


def test_the_plan_counts_the_history_against_the_context_window(
    rfctl, write_config, server, tmp_path, monkeypatch
):
    """History is fitted to the first candidate's window; a later candidate
    too small for it is dropped, never sent a history cut short."""
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n  big-model:\n    vendor: local\n    context: 100000\n"
        "  small-model:\n    vendor: local\n    context: 300\n"
    )
    monkeypatch.setenv("RFCTL_MODELS", str(models))
    write_config(
        "[defaults]\nretries = 0\nmax_tokens = 50\n\n"
        '[providers.big]\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'model = "big-model"\n\n'
        f'[providers.small]\nkind = "openai-compatible"\nbase_url = "{server.url}"\n'
        'model = "small-model"\n'
    )
    long_history("long", turns=3)
    r = rfctl("generate", "--conversation", "long", "-p", "big", "-p", "small", "-v", "next")
    assert r.code == 69  # big is down; small was never asked: the history does not fit it
    assert "skip small" in r.err and "exceeds its context window" in r.err
    assert server.chat() == []
