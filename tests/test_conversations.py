"""Conversations: ids, appending from many processes, fitting a context
window, and `rfctl conversations`."""

from __future__ import annotations

import json
import multiprocessing
import os
import time

import pytest

from rfctl.conversations import Store, Turn, fit, messages, trim
from rfctl.errors import InputError


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "conversations")


def exchange(question: str, answer: str, cost: float | None = 0.001, model="gemma3-270m"):
    return (
        Turn("user", question),
        Turn("assistant", answer, provider="local", model=model, cost_usd=cost),
    )


def words(text: str) -> int:
    return len(text.split())


# ---------------------------------------------------------------- ids


def test_a_new_conversation_gets_a_fresh_id_and_is_the_latest(store):
    assert store.latest() is None
    first = store.new()
    second = store.new()
    assert first != second
    assert store.load(first) == []
    os.utime(store.path(first), (time.time() + 5,) * 2)
    assert store.latest() == first


def test_a_named_conversation_cannot_be_started_twice(store):
    assert store.new("release-notes") == "release-notes"
    with pytest.raises(InputError, match="already exists.*--conversation release-notes"):
        store.new("release-notes")


@pytest.mark.parametrize(
    "bad", ["../escape", "a/b", "/etc/passwd", ".hidden", "..", "", "x" * 65, "tab\there", "é"]
)
def test_an_id_that_is_not_a_plain_name_is_rejected_everywhere(store, bad):
    for call in (
        lambda: store.new(bad),
        lambda: store.load(bad),
        lambda: store.append(bad, Turn("user", "hi")),
        lambda: store.delete(bad),
    ):
        with pytest.raises(InputError, match="invalid conversation name"):
            call()
    assert not os.path.exists(store.dir) or os.listdir(store.dir) == []


def test_an_unknown_conversation_is_an_input_error(store):
    with pytest.raises(InputError, match="no conversation named nope"):
        store.load("nope")


# ---------------------------------------------------------------- appending and reading


def test_turns_come_back_as_appended(store):
    cid = store.new("demo")
    store.append(cid, *exchange("Capital of Peru?", "Lima", cost=None))
    store.append(cid, *exchange("And of Chile?", "Santiago"))
    turns = store.load(cid)
    assert [(t.role, t.content) for t in turns] == [
        ("user", "Capital of Peru?"),
        ("assistant", "Lima"),
        ("user", "And of Chile?"),
        ("assistant", "Santiago"),
    ]
    assert all(t.ts.endswith("Z") for t in turns)
    assert turns[1].cost_usd is None and turns[3].cost_usd == 0.001
    assert messages(turns)[:2] == [
        {"role": "user", "content": "Capital of Peru?"},
        {"role": "assistant", "content": "Lima"},
    ]
    with open(store.path(cid)) as f:
        line = json.loads(f.readlines()[1])
    assert "cost_usd" in line and line["cost_usd"] is None  # unknown, not absent


def test_appending_to_a_conversation_makes_it_the_latest(store):
    old, new = store.new("old"), store.new("new")
    os.utime(store.path(new), (time.time() + 5,) * 2)
    assert store.latest() == new
    time.sleep(0.01)
    store.append(old, *exchange("q", "a"))
    os.utime(store.path(new), (time.time() - 60,) * 2)
    assert store.latest() == old


def test_a_torn_line_costs_only_itself(store):
    cid = store.new("torn")
    store.append(cid, *exchange("q1", "a1"))
    with open(store.path(cid), "ab") as f:
        f.write(b'{"role":"user","content":"half a li')  # a writer that died mid-write
    store.append(cid, *exchange("q2", "a2"))
    turns, skipped = store.read(cid)
    assert [t.content for t in turns] == ["q1", "a1", "q2", "a2"]
    assert skipped == 1


def _appender(directory: str, worker: int, rounds: int) -> None:
    s = Store(directory)
    for i in range(rounds):
        # Long turns: a write this size is where a non-atomic append would tear.
        body = f"{worker}:{i}:" + "y" * (3000 + 97 * worker)
        s.append("shared", Turn("user", "Q" + body), Turn("assistant", "A" + body))


def test_concurrent_appends_never_tear_or_split_an_exchange(store):
    store.new("shared")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_appender, args=(store.dir, w, 50)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    turns, skipped = store.read("shared")
    assert skipped == 0 and len(turns) == 8 * 50 * 2
    for question, answer in zip(turns[::2], turns[1::2], strict=True):
        assert question.role == "user" and answer.role == "assistant"
        assert answer.content == "A" + question.content[1:]


# ---------------------------------------------------------------- listing


def test_list_summarises_each_conversation_most_recent_first(store):
    a = store.new("a")
    store.append(a, *exchange("one two", "three", cost=0.5, model="m1"))
    store.append(a, *exchange("four", "five", cost=None, model="m2"))
    b = store.new("b")
    store.append(b, *exchange("x", "y", cost=None))
    os.utime(store.path(a), (time.time() - 100,) * 2)
    summaries = store.list()
    assert [s.id for s in summaries] == ["b", "a"]
    assert (summaries[1].turns, summaries[1].model, summaries[1].cost_usd) == (4, "m2", 0.5)
    assert summaries[0].cost_usd is None  # nothing priced: unknown, not 0


# ---------------------------------------------------------------- fitting a context window


def history(n: int) -> list[Turn]:
    out = []
    for i in range(n):
        out += exchange(f"question {i}", f"answer {i}")
    return out


def test_everything_is_kept_when_it_fits():
    turns = history(3)
    kept, dropped = fit(turns, budget_tokens=1000, count=words)
    assert kept == turns and dropped == []


def test_the_oldest_turns_are_dropped_whole_and_in_order():
    turns = history(5)  # each turn: 2 words + 4 overhead = 6 tokens
    kept, dropped = fit(turns, budget_tokens=6 * 4 + 5, count=words)
    assert kept == turns[-4:]
    assert dropped == turns[:-4]


def test_a_kept_history_never_starts_with_an_answer():
    turns = history(3)
    kept, dropped = fit(turns, budget_tokens=6 * 3, count=words)  # room for 3 turns
    assert [t.content for t in kept] == ["question 2", "answer 2"]
    assert dropped == turns[:4]


def test_a_budget_too_small_for_anything_drops_everything():
    turns = history(2)
    assert fit(turns, budget_tokens=0, count=words) == ([], turns)
    assert fit(turns, budget_tokens=-50, count=words) == ([], turns)


def test_system_turns_are_kept_ahead_of_old_exchanges():
    turns = [Turn("system", "be terse"), *history(4)]
    kept, dropped = fit(turns, budget_tokens=6 + 6 * 2, count=words)
    assert [t.content for t in kept] == ["be terse", "question 3", "answer 3"]
    assert len(dropped) == 6


def test_trim_warns_about_dropped_turns(capsys):
    from rfctl import console

    console.reset()
    kept = trim(history(5), 6 * 2, words, conversation="demo")
    assert len(kept) == 2
    err = capsys.readouterr().err
    assert err == (
        "rfctl: warning: the history does not fit the context window: "
        "left out the 8 oldest of 10 turns of conversation demo\n"
    )


def test_trim_strict_refuses_instead_of_dropping():
    with pytest.raises(InputError) as e:
        trim(history(5), 6 * 2, words, conversation="demo", strict=True)
    assert e.value.code == 65 and "8 oldest of 10 turns" in e.value.message
    assert trim(history(1), 100, words, conversation="demo", strict=True) == history(1)


# ---------------------------------------------------------------- rfctl conversations


@pytest.fixture
def default_store():
    s = Store()  # under the test's XDG_STATE_HOME, where the command looks
    s.new("peru")
    s.append("peru", *exchange("Capital of Peru?", "Lima", cost=0.0021))
    return s


def test_rfctl_conversations_lists_them(rfctl, default_store):
    r = rfctl("conversations", "--format", "tsv")
    assert r.code == 0, r.err
    header, row = r.out.splitlines()
    assert header.split("\t") == ["id", "last_used", "turns", "model", "cost_usd"]
    cid, last, turns, model, cost = row.split("\t")
    assert (cid, turns, model, cost) == ("peru", "2", "gemma3-270m", "0.0021")
    assert last.endswith("Z")
    data = json.loads(rfctl("conversations", "list", "--json").out)
    assert data[0]["id"] == "peru" and data[0]["turns"] == 2


def test_rfctl_conversations_show_prints_the_transcript(rfctl, default_store):
    r = rfctl("conversations", "show", "peru")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("## user (") and lines[1] == "Capital of Peru?"
    assert lines[3].startswith("## assistant (") and "local/gemma3-270m" in lines[3]
    assert "$0.0021" in lines[3] and lines[4] == "Lima"
    assert rfctl("conversations", "show").out == r.out  # no ID: the most recent one
    turns = json.loads(rfctl("conversations", "show", "peru", "--json").out)
    assert [t["role"] for t in turns] == ["user", "assistant"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("show", "nope"), 65, "no conversation named nope"),
        (("show", "../../etc/passwd"), 65, "invalid conversation name"),
        (("rm",), 2, "needs the ID"),
        (("list", "peru"), 2, "takes no ID"),
    ],
)
def test_rfctl_conversations_errors_are_one_line(rfctl, default_store, args, code, message):
    r = rfctl("conversations", *args)
    assert r.code == code
    assert r.err.startswith("rfctl: error:") and message in r.err and r.err.count("\n") == 1


def test_rfctl_conversations_rm_and_path(rfctl, default_store):
    assert rfctl("conversations", "path").out.strip() == default_store.dir
    assert rfctl("conversations", "rm", "peru").code == 0
    assert default_store.list() == []
