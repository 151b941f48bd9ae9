"""The router state file (rfctl/state/, the path-based functions): cooldowns and the round-robin
cursor, shared safely by many processes."""

from __future__ import annotations

import json
import multiprocessing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfctl import state
from rfctl.state.base import MAX_COOLDOWN, after_failure, bucket_take


@pytest.fixture
def path(tmp_path):
    return tmp_path / "rfctl" / "state.json"


def test_no_file_means_no_cooldowns(path):
    assert state.cooldowns(path) == {}
    assert not path.exists()


def test_a_cooldown_is_reported_with_its_time_left_and_reason(path):
    state.start_cooldown(path, "claude", 60, "connection refused", now=1000.0)
    assert state.cooldowns(path, now=1010.0) == {"claude": pytest.approx(50.0)}
    entry = state.cooldown_entries(path, now=1010.0)["claude"]
    assert entry.reason == "connection refused"


def test_a_new_cooldown_never_shortens_an_existing_one(path):
    state.start_cooldown(path, "a", 60, "first", now=1000.0)
    state.start_cooldown(path, "a", 10, "second", now=1000.0)
    assert state.cooldowns(path, now=1000.0)["a"] == pytest.approx(60.0)
    state.start_cooldown(path, "a", 120, "third", now=1000.0)
    assert state.cooldowns(path, now=1000.0)["a"] == pytest.approx(120.0)


def test_clearing_ends_a_cooldown_and_leaves_others(path):
    state.start_cooldown(path, "a", 60, "x")
    state.start_cooldown(path, "b", 60, "y")
    assert state.clear_cooldown(path, "a") is True
    assert set(state.cooldowns(path)) == {"b"}


def test_clearing_nothing_does_not_write(path):
    assert state.clear_cooldown(path, "a") is False
    assert not path.exists()


def test_expired_cooldowns_vanish_and_are_pruned_on_the_next_write(path):
    state.start_cooldown(path, "old", 5, "x", now=1000.0)
    assert state.cooldowns(path, now=1006.0) == {}
    state.start_cooldown(path, "new", 5, "y")  # real time: "old" ended long ago
    assert set(json.loads(path.read_text())["cooldowns"]) == {"new"}


def test_a_clock_stepped_back_does_not_lengthen_a_cooldown(path):
    state.start_cooldown(path, "a", 60, "x", now=1000.0)
    assert state.cooldowns(path, now=0.0)["a"] == pytest.approx(60.0)


def test_an_absurd_cooldown_is_clamped(path):
    state.start_cooldown(path, "a", 10**9, "Retry-After: forever", now=1000.0)
    assert state.cooldowns(path, now=1000.0)["a"] == pytest.approx(state.MAX_COOLDOWN)


def test_a_damaged_file_reads_as_empty_and_is_replaced(path):
    path.parent.mkdir(parents=True)
    path.write_text('{"cooldowns": {"a": {"until": ')
    assert state.cooldowns(path) == {}
    state.start_cooldown(path, "a", 30, "x")
    assert "a" in state.cooldowns(path)


def test_writes_leave_no_temporary_files(path):
    for i in range(5):
        state.start_cooldown(path, f"p{i}", 30, "x")
        state.next_cursor(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json", "state.json.lock"]


def test_an_unwritable_state_is_not_an_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")  # the state's directory cannot be created: works as root too
    assert state.start_cooldown(blocker / "state.json", "a", 30, "x") == 0.0
    assert state.next_cursor(blocker / "state.json") == 0
    assert state.cooldowns(blocker / "state.json") == {}


def test_the_cursor_moves_on_by_one_per_call(path):
    assert [state.next_cursor(path) for _ in range(4)] == [0, 1, 2, 3]
    assert state.next_cursor(path, "other") == 0


def _bump(path, n, out):
    out.put([state.next_cursor(path) for _ in range(n)])


def test_concurrent_processes_never_lose_an_update(path):
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_bump, args=(path, 25, out)) for _ in range(8)]
    for p in procs:
        p.start()
    values = [v for _ in procs for v in out.get(timeout=30)]
    for p in procs:
        p.join(timeout=30)
    assert sorted(values) == list(range(200))
    assert state.next_cursor(path) == 200


def test_peeking_does_not_move_the_cursor(path):
    state.next_cursor(path)
    assert state.peek_cursor(path) == 1
    assert state.peek_cursor(path) == 1
    assert state.next_cursor(path) == 1


# ---------------------------------------------------------------- the pure rules


@settings(max_examples=300, deadline=None)
@given(
    rate=st.integers(1, 50),
    steps=st.lists(st.tuples(st.floats(0, 2), st.floats(0.1, 80)), min_size=1, max_size=60),
)
def test_a_token_bucket_never_grants_more_than_its_rate_allows(rate, steps):
    per = 1.0
    tokens = stamp = None
    now, grants = 0.0, []
    for gap, amount in steps:
        now += gap
        tokens, wait = bucket_take(tokens, stamp, now, amount, rate, per)
        stamp = now
        if wait == 0:
            grants.append((now, amount))
        else:
            # Asking again after the wait goes through (when nobody else took it).
            assert bucket_take(tokens, stamp, now + wait + 1e-9, amount, rate, per)[1] == 0
    # In any window: a full bucket plus the refill, plus at most one request's
    # excess over the whole bucket (it leaves the bucket in debt).
    excess = max(0.0, max(a for _, a in steps) - rate)
    for i, (start, _) in enumerate(grants):
        total = 0.0
        for t, amount in grants[i:]:
            total += amount
            assert total <= rate + rate * (t - start) / per + excess + 1e-6


@given(old=st.floats(0, 7200), new=st.floats(0, 7200), gap=st.floats(0, 7200))
def test_a_failure_only_ever_extends_a_cooldown(old, new, gap):
    first = after_failure(None, 1000.0, 1, old, "a")
    second = after_failure(first, 1000.0 + gap, 2, new, "b")
    assert second.until >= min(first.until, 1000.0 + MAX_COOLDOWN) - 1e-6
    assert second.left(1000.0 + gap) == pytest.approx(
        max(first.left(1000.0 + gap), min(new, MAX_COOLDOWN))
    )
