"""Cooldowns that learn: the first is short, each further failure doubles it up
to `cooldown` (the cap), a success or a successful probe ends the streak, and
the first call after a cooldown gives the provider one attempt (a trial).

The outage simulations run the real router (plan, walk, state file) on a
virtual wall clock, one call every 2 s: the state's timestamps are wall-clock
times, so time.time is what moves. The socket test at the end does the same
against a real server that goes away and comes back, in scaled-down seconds.
"""

from __future__ import annotations

import json
import math
import time

import pytest
from router_helpers import Script, answer, load_config, log_records, make_paths, refused

from rfctl import routing, state
from rfctl.providers.base import Request
from rfctl.routing.cooldown import period

TWO = """
[defaults]
cooldown = {cap}
cooldown_base = {base}
retries = 2
[providers.a]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "gpt-4o"
[providers.b]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "gpt-4o-mini"
"""


@pytest.mark.parametrize(
    "failures, expect",
    [(0, 0), (1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (40, 60), (1000, 60)],
)
def test_the_period_doubles_from_the_base_up_to_the_cap(failures, expect):
    assert period(failures, 2, 60) == expect


def test_a_base_above_the_cap_is_the_cap():
    assert period(1, 90, 60) == 60 and period(1, 0, 60) == 60


class Wall:
    """A virtual wall clock (time.time) the state reads and the test moves."""

    def __init__(self, monkeypatch):
        self.now = 1_800_000_000.0
        monkeypatch.setattr(time, "time", lambda: self.now)


@pytest.fixture
def sim(tmp_path, monkeypatch):
    wall = Wall(monkeypatch)
    paths = make_paths(tmp_path)

    def run(outage_s: float, calls: int, *, base=2, cap=60, every=2.0):
        """One call every EVERY seconds; a is down (refused) for OUTAGE_S.
        Returns [(t, provider asked, answered by)] per call."""
        cfg = load_config(TWO.format(base=base, cap=cap), tmp_path)
        start = wall.now

        def a_call(req, timeouts, on_text):
            if wall.now - start < outage_s:
                raise refused()
            return answer("ok from a", req.model)

        script = Script(a=[a_call] * calls).install(monkeypatch)
        seen = []
        for i in range(calls):
            wall.now = start + i * every
            before = len(script.calls)
            out = routing.run(cfg, paths, Request(prompt="hi", max_tokens=10), routing.Options())
            assert out.ok
            asked = [c.provider for c in script.calls[before:]]
            seen.append((wall.now - start, asked, out.provider.name))
        return seen

    run.paths = paths
    return run


def test_a_short_outage_is_tried_again_within_seconds_of_recovering(sim):
    calls = sim(outage_s=12, calls=15)
    during = [t for t, asked, _ in calls if t < 12 and "a" in asked]
    # 2 s, then 4 s, then 8 s of cooldown: attempts at 0, 2, 6 (and the trial at 14).
    assert during == [0, 2, 6]
    assert len(during) <= math.log2(12 / 2) + 1
    back = next(t for t, _, by in calls if by == "a")
    assert back - 12 <= 2 + 1e-6  # the primary answers again at the first trial after it is up
    assert all(by == "a" for t, _, by in calls if t >= back)  # and its streak is over


def test_a_long_outage_costs_about_log2_of_its_length_in_attempts(sim):
    outage = 600
    calls = sim(outage_s=outage, calls=int(outage / 2) + 10, cap=3600)
    during = [t for t, asked, _ in calls if t < outage and "a" in asked]
    assert len(during) <= math.log2(outage / 2) + 2  # not one per call, not one per minute
    assert len(during) >= math.log2(outage / 2) - 1


def test_each_attempt_is_one_try_and_the_streak_is_in_the_state(sim):
    calls = sim(outage_s=100, calls=4)
    # A trial is one attempt, no retries: refused once, then b answers.
    assert [asked for _, asked, _ in calls] == [["a", "b"], ["a", "b"], ["b"], ["a", "b"]]
    entry = state.FileState(sim.paths.state).entries()["a"]
    assert entry.failures == 3 and entry.period == pytest.approx(8)
    assert len([r for r in log_records(sim.paths) if r["provider"] == "a"]) == 3


def test_providers_shows_the_period_and_the_failure_count(rfctl, write_config, tmp_path):
    write_config(TWO.format(base=2, cap=60))
    path = tmp_path / "state.json"
    backend = state.FileState(path)
    for _ in range(3):
        backend.fail("a", lambda n: period(n, 2, 60), "connect: connection refused")
    run = rfctl("providers", "--no-check", "--json", env={"RFCTL_STATE": str(path)})
    assert run.code == 0, run.err
    rows = {r["name"]: r for r in json.loads(run.out)}
    assert rows["a"]["failures"] == 3 and rows["a"]["cooldown_period_s"] == pytest.approx(8)
    assert 7 < rows["a"]["cooldown_s"] <= 8
    assert rows["b"]["failures"] == 0 and rows["b"]["cooldown_s"] is None


def test_a_failed_probe_grows_the_streak_and_a_good_one_ends_it(rfctl, write_config, tmp_path):
    from faults import FaultServer

    srv = FaultServer().start()
    port = srv.port
    srv.stop()
    write_config(
        "[defaults]\ncooldown = 60\ncooldown_base = 2\n"
        f'[providers.local]\nkind = "vllm"\nbase_url = "http://127.0.0.1:{port}/v1"\n'
        'model = "fault-model"\n'
    )
    path = tmp_path / "state.json"
    env = {"RFCTL_STATE": str(path)}
    for n in (1, 2):
        assert rfctl("probe", "local", "--timeout", "2", env=env).code == 2
        entry = state.FileState(path).entries()["local"]
        assert entry.failures == n and entry.period == pytest.approx(period(n, 2, 60))
    with FaultServer(port=port):
        assert rfctl("probe", "local", "--timeout", "2", env=env).code == 0
    assert "local" not in state.FileState(path).entries()


def test_a_primary_back_after_an_outage_on_real_sockets(tmp_path, monkeypatch):
    """Scaled down: base 0.2 s, an outage of 1.2 s, one call every 0.2 s. What
    the server received matches what the log holds."""
    from conftest import run_in_process
    from faults import FaultServer

    a, b = FaultServer().start(), FaultServer().start()
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            "[defaults]\ncooldown = 30\ncooldown_base = 0.2\nconnect_timeout = 0.5\n"
            + "".join(
                f'[providers.{n}]\nkind = "openai"\nbase_url = "{s.url}"\nmodel = "gpt-4o"\n'
                for n, s in (("a", a), ("b", b))
            )
        )
        log = tmp_path / "usage.jsonl"
        env = {
            "RFCTL_CONFIG": str(cfg),
            "RFCTL_USAGE_LOG": str(log),
            "RFCTL_STATE": str(tmp_path / "state.json"),
        }
        a.stop()
        t0 = time.monotonic()
        back_at = None
        answered_by = []
        while time.monotonic() - t0 < 3.0:
            if back_at is None and time.monotonic() - t0 >= 1.2:
                a.start()
                back_at = time.monotonic()
            run = run_in_process("generate", "--format", "json", "hi", env=env)
            assert run.code == 0, run.err
            answered_by.append((time.monotonic(), json.loads(run.out)["provider"]))
            time.sleep(0.2)
        recs = [json.loads(x) for x in log.read_text().splitlines()]
        refused_a = [r for r in recs if r["provider"] == "a" and r["status"] == "error"]
        assert 1 <= len(refused_a) <= math.log2(1.2 / 0.2) + 2  # not one per call
        first_a = next(t for t, by in answered_by if by == "a")
        assert first_a - back_at < 1.0  # within a few base periods of recovering
        # Every request a server received is in the log, and no other.
        assert len(a.chat()) == len(
            [r for r in recs if r["provider"] == "a" and r["status"] == "ok"]
        )
        assert len(b.chat()) == len([r for r in recs if r["provider"] == "b"])
    finally:
        a.stop()
        b.stop()
