"""The router state's two backends, the local file and Redis, held to the same
behaviour: cooldowns that learn, the cursor, rate pacing and the budget, with
many processes at once."""

from __future__ import annotations

import multiprocessing
import os
import time
from types import SimpleNamespace

import pytest

from rfctl import state
from rfctl.errors import BudgetError

FORK = multiprocessing.get_context("fork")

DAY = "2026-12-01"


def doubling(failures: int) -> float:
    """The router's kind of schedule: 2 s, doubling, capped at 16 s."""
    return min(2.0 * 2 ** (failures - 1), 16.0)


@pytest.fixture(params=["file", "redis"])
def open_backend(request, tmp_path):
    """A function opening the backend under test (again in each child process:
    a Redis connection must not be shared across a fork)."""
    paths = SimpleNamespace(state=tmp_path / "rfctl" / "state.json")
    # These tests are about atomicity, not the call timeout (test_state_redis
    # bounds that): a generous one keeps a loaded machine from turning a slow
    # reply into the file fallback mid-test.
    section = (
        {"url": request.getfixturevalue("redis_url"), "timeout": 2.0}
        if request.param == "redis"
        else None
    )
    opened = []

    def open_():
        backend = state.open_state(paths, section)
        opened.append(backend)
        return backend

    yield open_
    for backend in opened:
        backend.close()


@pytest.fixture
def backend(open_backend):
    return open_backend()


def run_processes(n: int, target, *args, timeout: float = 60) -> list:
    """Run target(queue, *args) in N forked processes; each puts one result."""
    out = FORK.Queue()
    procs = [FORK.Process(target=target, args=(out, *args)) for _ in range(n)]
    for p in procs:
        p.start()
    results = [out.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(timeout=timeout)
        assert p.exitcode == 0
    return results


# ---------------------------------------------------------------- cooldowns


def test_each_failure_in_a_row_doubles_the_cooldown_up_to_the_cap(backend):
    lengths = []
    for i in range(6):  # each failure comes after the previous cooldown ended
        entry = backend.fail("claude", doubling, f"refused #{i}", now=1000.0 + 100 * i)
        lengths.append(entry.period)
    assert lengths == [2.0, 4.0, 8.0, 16.0, 16.0, 16.0]
    entry = backend.entries(now=1500.0)["claude"]
    assert (entry.failures, entry.period, entry.reason) == (6, 16.0, "refused #5")
    assert backend.cooldowns(now=1500.0)["claude"].left(1500.0) == pytest.approx(16.0)


def test_a_success_resets_the_streak(backend):
    backend.fail("a", doubling, "x", now=1000.0)
    backend.fail("a", doubling, "x", now=1010.0)
    assert backend.succeed("a") is True
    assert backend.entries(now=1010.0) == {}
    assert backend.succeed("a") is False
    assert backend.fail("a", doubling, "x", now=1020.0).period == 2.0


def test_a_fail_never_shortens_an_active_cooldown(backend):
    backend.fail("a", lambda n: 60.0, "long", now=1000.0)
    entry = backend.fail("a", lambda n: 5.0, "short", now=1010.0)
    assert entry.left(1010.0) == pytest.approx(50.0)
    assert (entry.failures, entry.reason) == (2, "short")
    assert backend.fail("a", lambda n: 120.0, "longer", now=1010.0).left(1010.0) == 120.0


def test_an_ended_cooldown_is_listed_with_its_streak_but_does_not_cool(backend):
    backend.fail("a", doubling, "x", now=1000.0)
    assert backend.cooldowns(now=1003.0) == {}
    assert backend.entries(now=1003.0)["a"].failures == 1


def test_a_streak_is_forgotten_long_after_its_cooldown_ended(backend):
    backend.fail("a", doubling, "x", now=1000.0)
    later = 1002.0 + state.base.FORGET_AFTER + 1
    assert backend.entries(now=later) == {}
    assert backend.fail("a", doubling, "x", now=later).failures == 1


def test_an_absurd_decision_is_clamped(backend):
    entry = backend.fail("a", lambda n: 1e9, "Retry-After: forever", now=1000.0)
    assert entry.left(1000.0) == state.MAX_COOLDOWN


def _fail_many(out, open_, n):
    b = open_()
    for _ in range(n):
        b.fail("p", lambda f: 60.0, "x")
    out.put(None)


def test_concurrent_failures_are_all_counted(open_backend):
    run_processes(8, _fail_many, open_backend, 10)
    assert open_backend().entries()["p"].failures == 80


# ---------------------------------------------------------------- cursor


def _bump(out, open_, n):
    b = open_()
    out.put([b.next_cursor() for _ in range(n)])


def test_the_cursor_rotates_once_per_call_across_processes(open_backend):
    values = [v for vs in run_processes(8, _bump, open_backend, 25) for v in vs]
    assert sorted(values) == list(range(200))
    b = open_backend()
    assert b.peek_cursor() == 200
    assert b.next_cursor() == 200
    assert b.next_cursor("other") == 0


# ---------------------------------------------------------------- rate pacing

RATE, PER = 5, 0.4  # "5 a minute", with the minute scaled down to 0.4 s


def _hammer(out, open_, seconds):
    b = open_()
    granted = []
    end = time.time() + seconds
    while time.time() < end:
        wait = b.acquire("claude:rpm", 1, RATE, per=PER)
        if wait == 0:
            granted.append(time.time())
        else:
            assert 0 < wait <= PER / RATE + 1e-6
            time.sleep(min(wait, 0.02))
    out.put(granted)


def test_the_bucket_never_lets_more_through_than_its_rate(open_backend):
    start = time.time()
    grants = sorted(t for ts in run_processes(8, _hammer, open_backend, 1.2) for t in ts)
    # A full bucket (RATE) plus what refilled since the start; one of slack for
    # the time a grant takes to be stamped.
    assert len(grants) <= RATE + RATE * (grants[-1] - start) / PER + 1
    for i, t in enumerate(grants):  # and no window of PER holds more than 2 x RATE
        assert sum(1 for u in grants[i:] if u < t + PER) <= 2 * RATE + 1
    assert len(grants) >= (RATE + RATE * 1.2 / PER) / 2  # and it does let them through


def test_an_idle_bucket_fills_to_its_rate_and_no_further(backend):
    assert [backend.acquire("p:rpm", 1, RATE, per=PER) for _ in range(RATE)] == [0.0] * RATE
    assert backend.acquire("p:rpm", 1, RATE, per=PER) > 0
    time.sleep(2 * PER)  # long enough to refill twice over
    burst = [backend.acquire("p:rpm", 1, RATE, per=PER) for _ in range(2 * RATE)]
    granted = burst.count(0.0)
    assert RATE <= granted <= RATE + 1  # one may refill during the burst itself


def test_a_request_bigger_than_the_bucket_waits_for_a_full_one(backend):
    assert backend.acquire("p:tpm", 5000, 1000, per=0.5) == 0.0  # full: goes, leaves debt
    wait = backend.acquire("p:tpm", 10, 1000, per=0.5)
    assert wait > 0.5 * 3  # the debt (4000) and the 10 refill first
    assert backend.acquire("p:tpm", 10, 0) == 0.0  # no limit configured


# ---------------------------------------------------------------- budget


def test_reservations_count_against_the_limit_until_settled_or_released(backend):
    first = backend.reserve(DAY, 4.0, 10.0, ttl=60)
    assert first is not None
    assert backend.reserve(DAY, 7.0, 10.0, ttl=60) is None
    backend.release(first)
    second = backend.reserve(DAY, 7.0, 10.0, ttl=60)
    assert second is not None
    backend.settle(second, 6.5)
    assert backend.spent(DAY) == pytest.approx(6.5)
    assert backend.reserve(DAY, 4.0, 10.0, ttl=60) is None
    assert backend.reserve(DAY, 3.5, 10.0, ttl=60) is not None
    assert backend.reserve("2026-12-02", 9.0, 10.0, ttl=60) is not None  # another day
    assert backend.spent("2026-12-02") == 0.0


def test_a_reservation_expires_after_its_ttl(backend):
    assert backend.reserve(DAY, 8.0, 10.0, ttl=0.2) is not None
    assert backend.reserve(DAY, 8.0, 10.0, ttl=60) is None
    time.sleep(0.3)
    late = backend.reserve(DAY, 8.0, 10.0, ttl=60)
    assert late is not None
    backend.settle(late, 1.0)
    assert backend.spent(DAY) == 1.0


def test_a_settle_after_expiry_still_counts_the_cost(backend):
    rid = backend.reserve(DAY, 1.0, 10.0, ttl=0.05)
    time.sleep(0.1)
    backend.settle(rid, 2.5)
    assert backend.spent(DAY) == 2.5


def _reserve_and_die(out, open_):
    out.put(open_().reserve(DAY, 8.0, 10.0, ttl=600))
    out.close()
    out.join_thread()
    os._exit(0)  # no settle, no release: a crashed call


def test_a_dead_process_holds_no_budget(open_backend):
    assert run_processes(1, _reserve_and_die, open_backend) != [None]
    assert open_backend().reserve(DAY, 8.0, 10.0, ttl=60) is not None


def _spend(out, open_, limit):
    b = open_()
    settled = 0.0
    for i in range(30):
        rid = b.reserve(DAY, 1.0, limit, ttl=30)
        if rid is None:
            time.sleep(0.002)
            continue
        cost = 0.5 + (os.getpid() + i) % 6 / 10  # 0.5 .. 1.0, never above the estimate
        b.settle(rid, cost)
        settled += cost
    out.put(settled)


def test_concurrent_processes_never_spend_past_the_limit(open_backend):
    settled = run_processes(16, _spend, open_backend, 10.0)
    spent = open_backend().spent(DAY)
    assert spent == pytest.approx(sum(settled))
    assert 5.0 <= spent <= 10.0 + 1e-9


# ---------------------------------------------------------------- the file itself


def test_a_directory_as_the_state_path_is_a_config_error(tmp_path):
    from rfctl.errors import ConfigError

    with pytest.raises(ConfigError, match="is a directory"):
        state.open_state(SimpleNamespace(state=tmp_path), None)
    with pytest.raises(ConfigError, match="is a directory"):
        state.start_cooldown(tmp_path, "a", 30, "x")
    assert not (tmp_path.parent / f"{tmp_path.name}.lock").exists()


def test_an_unwritable_file_refuses_the_budget_but_not_advice(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    b = state.FileState(blocker / "state.json")
    assert b.next_cursor() == 0
    assert b.acquire("p:rpm", 1, 5) == 0.0
    with pytest.raises(BudgetError, match="cannot check the budget"):
        b.reserve(DAY, 1.0, 10.0, ttl=60)
