"""Routing end to end: `rfctl generate` (in-process, each call standing for
a separate invocation) against fault-injecting servers on 127.0.0.1
(tests/faults.py), one test per scenario of issue 3.

Each test checks what the caller got (a complete answer or one clean error
line, and the exit code), how many requests each server saw and how far
apart, and the wall time against the configured bounds. Bounds are small
(1 s attempts, 0.5 s stalls, short cooldowns) and the slack is generous:
these are not speed tests. Nothing here needs a process boundary: state
between invocations lives in the state file and the usage log.
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import run_in_process
from faults import (
    ANSWER,
    OK,
    Cut,
    FaultServer,
    Malformed,
    NoDone,
    Reset,
    Silent,
    Stall,
    Status,
    content_policy,
    context_too_long,
)

TIMEOUT = 1.0  # one attempt
STALL = 0.5  # between stream chunks
SLACK = 3.0  # a loaded CI machine
# First backoff is 0.5 s times a jitter factor in (0.75, 1]; the second twice that.
FIRST_WAIT = (0.375, 0.5)
SECOND_WAIT = (0.75, 1.0)
EPS = 0.2  # scheduling noise on the gaps a server measures


@pytest.fixture
def servers():
    started: list[FaultServer] = []

    def make(*script, default=None) -> FaultServer:
        s = FaultServer(script, default).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Write a config naming the given providers; return a runner."""

    class World:
        log = tmp_path / "usage.jsonl"
        state = tmp_path / "state.json"

        def configure(self, *providers, **defaults):
            d = {
                "timeout": TIMEOUT,
                "stall_timeout": STALL,
                "connect_timeout": 0.5,
                "cooldown": 30,
                "deadline": 20,
                "retries": 2,
                "max_retry_after": 5,
            }
            d.update(defaults)
            d.setdefault("cooldown_base", d["cooldown"])  # a fixed cooldown unless a test asks
            lines = ["[defaults]"] + [f"{k} = {json.dumps(v)}" for k, v in d.items()]
            for name, where, model in providers:
                url = where.url if isinstance(where, FaultServer) else where
                lines += [
                    f"[providers.{name}]",
                    'kind = "openai"',
                    f'base_url = "{url}"',
                    f'model = "{model}"',
                ]
            path = tmp_path / "config.toml"
            path.write_text("\n".join(lines) + "\n")
            monkeypatch.setenv("RFCTL_CONFIG", str(path))
            monkeypatch.setenv("RFCTL_USAGE_LOG", str(self.log))
            monkeypatch.setenv("RFCTL_STATE", str(self.state))

        def generate(self, *args, prompt="Say something"):
            from rfctl.routing.attempt import forget_adapters

            forget_adapters()  # a new invocation starts with no pooled connections
            t0 = time.monotonic()
            run = run_in_process("generate", *args, prompt)
            run.wall = time.monotonic() - t0
            assert "Traceback" not in run.err, run.err
            return run

        def records(self) -> list[dict]:
            if not self.log.exists():
                return []
            return [json.loads(x) for x in self.log.read_text().splitlines() if x.strip()]

        def cooling(self) -> dict:
            from rfctl import state

            return state.cooldowns(self.state)

    return World()


def one_error_line(run) -> str:
    lines = [x for x in run.err.splitlines() if x.startswith("rfctl: error:")]
    assert len(lines) == 1, run.err
    return lines[0]


def within(value: float, lo: float, hi: float) -> bool:
    return lo - EPS <= value <= hi + EPS


# ---------------------------------------------------------------- rate limits and 5xx


@pytest.mark.parametrize(
    "fault, gap",
    [
        (Status(429, "Rate limit reached", "requests", headers={"Retry-After": "0.6"}), (0.6, 0.6)),
        (Status(500, "The server had an error", "server_error"), FIRST_WAIT),
        (Reset(), FIRST_WAIT),  # connection reset before the headers
    ],
    ids=["429-retry-after", "500", "reset-before-headers"],
)
def test_one_transient_failure_waits_then_answers_from_the_same_server(servers, world, fault, gap):
    a = servers(fault)
    world.configure(("a", a, "gpt-4o"))
    run = world.generate()
    assert run.code == 0, run.err
    assert run.out == ANSWER + "\n"
    assert len(a.chat()) == 2
    assert within(a.gaps()[0], *gap)
    assert run.wall < gap[1] + SLACK


def test_429_forever_without_retry_after_backs_off_then_fails_temporarily(servers, world):
    a = servers(default=Status(429, "Rate limit reached", "requests"))
    world.configure(("a", a, "gpt-4o"))
    run = world.generate()
    assert run.code == 75
    assert run.out == ""
    assert "a: http 429" in one_error_line(run)
    assert len(a.chat()) == 3  # the first attempt and 2 retries
    g1, g2 = a.gaps()
    assert within(g1, *FIRST_WAIT) and within(g2, *SECOND_WAIT)
    assert run.wall < FIRST_WAIT[1] + SECOND_WAIT[1] + SLACK


def test_503_forever_fails_temporarily_then_cools_down_to_one_probe(servers, world):
    a = servers(default=Status(503, "Service Unavailable"))
    world.configure(("a", a, "gpt-4o"), cooldown=30)
    run = world.generate()
    assert run.code == 75 and run.out == ""
    assert len(a.chat()) == 3
    assert world.cooling()["a"] == pytest.approx(30, abs=3)
    # Next invocation: the only candidate is cooling, so one probing attempt, no retries.
    run = world.generate("-v")
    assert run.code == 75
    assert len(a.chat()) == 4
    assert "probe a" in run.err
    assert run.wall < SLACK


def test_503_on_the_primary_with_a_healthy_fallback(servers, world):
    a = servers(default=Status(503, "Service Unavailable"))
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"), retries=1)
    run = world.generate("--format", "json")
    assert run.code == 0, run.err
    out = json.loads(run.out)
    assert out["ok"] and out["text"] == ANSWER
    assert (out["provider"], out["model"]) == ("b", "gpt-4o-mini")
    assert [x["status"] for x in out["attempts"]] == ["error", "error", "ok"]
    assert len(a.chat()) == 2 and len(b.chat()) == 1
    assert b.chat()[0].model == "gpt-4o-mini"
    recs = world.records()
    assert [(r["provider"], r["status"]) for r in recs] == [
        ("a", "error"),
        ("a", "error"),
        ("b", "ok"),
    ]
    assert len({r["request_id"] for r in recs}) == 1
    assert [r["cost_usd"] for r in recs[:2]] == [0.0, 0.0]  # failed attempts cost nothing
    assert recs[2]["model"] == "gpt-4o-mini" and recs[2]["cost_usd"] > 0
    assert out["cost_usd"] == pytest.approx(recs[2]["cost_usd"])
    assert run.wall < FIRST_WAIT[1] + SLACK


# ---------------------------------------------------------------- connections


def test_accepts_and_never_answers_fails_over_after_the_timeout(servers, world):
    a = servers(default=Silent())
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"))
    run = world.generate()
    assert run.code == 0 and run.out == ANSWER + "\n"
    assert len(a.chat()) == 1 and len(b.chat()) == 1  # silence is not retried
    assert TIMEOUT - EPS <= run.wall < TIMEOUT + SLACK
    assert "a" in world.cooling()
    # The next invocation does not pay that timeout again, nor even connect.
    seen = a.connections
    run = world.generate()
    assert run.code == 0 and run.out == ANSWER + "\n"
    assert a.connections == seen
    assert run.wall < SLACK


def test_the_deadline_bounds_the_whole_walk(servers, world):
    a = servers(default=Silent())
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"), timeout=5)
    run = world.generate("--deadline", "0.8")
    assert run.code == 75
    assert "deadline of 0.8 s reached before trying b" in one_error_line(run)
    assert len(b.chat()) == 0
    assert 0.8 - EPS <= run.wall < 0.8 + SLACK


def test_a_primary_down_for_a_while_then_back(servers, world):
    a = servers()
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"), cooldown=1.5)
    a.stop()  # connections to a are now refused
    first = world.generate()
    assert first.code == 0 and first.out == ANSWER + "\n"
    assert "a" in world.cooling()
    second = world.generate("-v")  # a is cooling: skipped without a connection attempt
    assert second.code == 0 and second.out == ANSWER + "\n"
    assert "skip a: cooling down" in second.err
    assert [r["provider"] for r in world.records()] == ["a", "b", "b"]
    a.start()  # back, on the same port
    time.sleep(1.6)  # and its cooldown is over
    third = world.generate("--format", "json")
    assert third.code == 0
    assert json.loads(third.out)["provider"] == "a"
    assert a.connections == 1 and len(a.chat()) == 1
    assert "a" not in world.cooling()
    assert [r["provider"] for r in world.records()][-1] == "a"


# ---------------------------------------------------------------- streams


def test_first_token_after_a_long_delay_within_the_stall_bound(servers, world):
    a = servers(OK(first_token_delay=0.4))
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"))
    run = world.generate()
    assert run.code == 0 and run.out == ANSWER + "\n"
    assert len(a.chat()) == 1 and len(b.chat()) == 0
    assert 0.4 - EPS <= run.wall < 0.4 + SLACK


@pytest.mark.parametrize(
    "fault, args, said, wall",
    [
        (OK(first_token_delay=3.0), (), None, STALL),  # first token later than the stall bound
        (Stall(after=3), (), None, STALL),  # stalls with the connection open
        (Malformed(at=2), ("-v",), "malformed chunk", None),  # fails the attempt cleanly
        (NoDone(complete=False), (), None, None),  # an incomplete stream without [DONE]: a cut
    ],
    ids=["first-token-too-late", "stall", "malformed-chunk", "incomplete-without-done"],
)
def test_a_broken_stream_fails_over_once_to_the_next_server(
    servers, world, fault, args, said, wall
):
    a = servers(fault)
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"))
    run = world.generate(*args)
    assert run.code == 0 and run.out == ANSWER + "\n"
    assert len(a.chat()) == 1 and len(b.chat()) == 1
    if said is not None:
        assert said in run.err
    if wall is not None:
        assert wall - EPS <= run.wall < wall + SLACK


def test_stream_cut_mid_answer_falls_back_transparently_when_buffered(servers, world, tmp_path):
    a = servers(Cut(after=3), Cut(after=3))
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"))
    run = world.generate()
    assert run.code == 0
    assert run.out == ANSWER + "\n"  # one complete answer, nothing glued on
    assert len(a.chat()) == 1 and len(b.chat()) == 1
    assert a.chat()[0].stream  # streamed on the wire all the same
    target = tmp_path / "answer.txt"
    run = world.generate("-o", str(target))
    assert run.code == 0 and run.out == ""
    assert target.read_text() == ANSWER + "\n"


def test_stream_cut_mid_answer_when_live_ends_with_one_error(servers, world):
    a = servers(Cut(after=3))
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"))
    run = world.generate("--stream")
    assert run.code == 75
    assert run.out == "The quick brown \n"  # what arrived, then nothing more
    line = one_error_line(run)
    assert "answer cut after 16 characters from a" in line
    assert len(b.chat()) == 0  # never a second answer


def test_a_complete_stream_without_done_is_finalised_at_once(servers, world):
    a = servers(NoDone(complete=True))
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"))
    run = world.generate()
    assert run.code == 0 and run.out == ANSWER + "\n"
    assert len(a.chat()) == 1 and len(b.chat()) == 0
    assert run.wall < SLACK  # no waiting for a terminator that never comes


# ---------------------------------------------------------------- 400s


def test_context_length_exceeded_skips_to_a_larger_window(servers, world):
    a = servers(context_too_long())
    same = servers()  # serves the same model: must not be asked
    big = servers()
    world.configure(("a", a, "gpt-4o"), ("same", same, "gpt-4o"), ("big", big, "gpt-4.1"))
    run = world.generate("--format", "json")
    assert run.code == 0, run.err
    out = json.loads(run.out)
    assert (out["provider"], out["model"]) == ("big", "gpt-4.1")
    assert len(a.chat()) == 1 and len(same.chat()) == 0 and len(big.chat()) == 1


def test_context_length_exceeded_everywhere_is_bad_input(servers, world):
    a = servers(default=context_too_long())
    world.configure(("a", a, "gpt-4o"))
    run = world.generate()
    assert run.code == 65
    assert "maximum context length" in one_error_line(run)
    assert len(a.chat()) == 1


def test_content_policy_refusal_is_not_retried_and_its_reason_reaches_the_user(servers, world):
    a = servers(content_policy())
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"))
    run = world.generate()
    assert run.code == 69 and run.out == ""
    assert (
        "a refused: Your request was rejected as a result of our safety system"
        in one_error_line(run)
    )
    assert len(a.chat()) == 1 and len(b.chat()) == 0


# ---------------------------------------------------------------- before sending


def test_max_cost_refuses_with_77_before_anything_is_sent(servers, world):
    a = servers()
    world.configure(("a", a, "gpt-4o"))
    run = world.generate("--max-cost", "0.000001")
    assert run.code == 77 and run.out == ""
    assert "exceeds --max-cost" in one_error_line(run)
    assert a.connections == 0


def test_dry_run_prints_the_plan_and_sends_nothing(servers, world):
    a = servers()
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"))
    from rfctl import state

    state.start_cooldown(world.state, "a", 30, "connect: connection refused")
    run = world.generate("--dry-run")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith("prompt\tat most ")
    assert lines[1].split("\t")[:3] == ["1", "b", "gpt-4o-mini"]
    assert lines[2].startswith("-\ta\tgpt-4o\t") and "skip: cooling down" in lines[2]
    assert a.connections == 0 and b.connections == 0
    assert world.records() == []


def test_round_robin_rotates_across_separate_invocations(servers, world):
    a = servers()
    b = servers()
    world.configure(("a", a, "gpt-4o"), ("b", b, "gpt-4o-mini"), strategy="round-robin")
    for _ in range(4):
        assert world.generate().code == 0
    assert [r["provider"] for r in world.records()] == ["a", "b", "a", "b"]
    assert len(a.chat()) == 2 and len(b.chat()) == 2


# ---------------------------------------------------------------- x-should-retry


def test_a_503_that_asks_not_to_be_retried_is_not_retried_but_exits_75(servers, world):
    """x-should-retry: false stops the retry (rfctl/routing/retry.py) without making the
    503 permanent: the call still fails as temporary (75), not as 69."""
    a = servers(default=Status(503, "busy", headers={"x-should-retry": "false"}))
    world.configure(("a", a, "gpt-4o"))
    run = world.generate()
    assert run.code == 75, run.err
    assert len(a.chat()) == 1
    assert "a: http 503" in one_error_line(run)
