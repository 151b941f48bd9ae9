"""The retry policy (rfctl/routing/retry.py) with a fake clock: what is retried, how
long each wait is, and when it gives up and moves on; then what failures lead
to: a cooldown (rfctl/routing/cooldown.py) and the exit code
(rfctl/routing/verdict.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from router_helpers import http, refused

from rfctl.providers.base import ProviderError
from rfctl.routing.retry import Policy, backoff, fails_over, retryable, retrying


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def run(policy, outcomes, deadline=None, clock=None, rand=lambda: 0.5):
    """Drive retrying() over a scripted sequence of failures/results."""
    clock = clock or FakeClock()
    calls = []
    script = list(outcomes)

    def attempt():
        calls.append(clock.now)
        item = script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    r = retrying(policy, deadline=deadline, clock=clock, sleep=clock.sleep, rand=rand)
    try:
        for a in r:
            with a:
                result = attempt()
        return result, calls, clock.slept
    except ProviderError as e:
        return e, calls, clock.slept


# ---------------------------------------------------------------- what is retried


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_transient_statuses_are_retried(status):
    assert retryable(http(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_client_errors_are_never_retried(status):
    assert not retryable(http(status))


def test_never_list_wins_over_x_should_retry_true():
    assert not retryable(http(400, headers={"x-should-retry": "true"}))


def test_x_should_retry_false_stops_a_transient_retry():
    assert not retryable(http(503, headers={"x-should-retry": "false"}))
    assert retryable(http(503, headers={"x-should-retry": "true"}))


def test_insufficient_quota_is_billing_not_load():
    e = http(429, "You exceeded your current quota", "insufficient_quota", "insufficient_quota")
    assert not retryable(e)


def test_context_overflow_and_content_policy_are_not_retried():
    assert not retryable(http(400, "maximum context length is 4096 tokens"))
    assert not retryable(http(400, "rejected by our safety system", code="content_policy"))


def test_refused_connection_and_silence_fail_over_instead_of_retrying():
    refused = ProviderError("connect", "connection refused (http://x)", transient=True)
    silent = ProviderError("timeout", "no response in time", transient=True)
    stalled = ProviderError("timeout", "stream stalled", transient=True, accepted=True)
    cut = ProviderError("stream", "connection broken", transient=True, accepted=True)
    for e in (refused, silent, stalled, cut):
        assert fails_over(e) and not retryable(e)


def test_a_reset_connection_is_retried():
    reset = ProviderError("connect", "connection reset (http://x)", transient=True)
    assert not fails_over(reset) and retryable(reset)


# ---------------------------------------------------------------- how long to wait


def test_backoff_is_exponential_capped_and_jittered_within_075_to_1():
    p = Policy(base=0.5, max_backoff=8.0)
    assert backoff(1, p, rand=lambda: 0.0) == pytest.approx(0.5)  # factor 1.0
    assert backoff(1, p, rand=lambda: 0.999999) == pytest.approx(0.375, abs=1e-4)
    assert backoff(3, p, rand=lambda: 0.0) == pytest.approx(2.0)
    assert backoff(10, p, rand=lambda: 0.0) == pytest.approx(8.0)
    for n in range(1, 8):
        w = backoff(n, p)
        raw = min(0.5 * 2 ** (n - 1), 8.0)
        assert 0.75 * raw < w <= raw


def test_retries_transient_failures_then_returns_the_answer():
    result, calls, slept = run(
        Policy(retries=2), [http(503), http(500), "answer"], rand=lambda: 0.0
    )
    assert result == "answer"
    assert len(calls) == 3
    assert slept == pytest.approx([0.5, 1.0])


def test_gives_up_after_the_retries_with_the_last_provider_error():
    result, calls, _ = run(Policy(retries=2), [http(503), http(503), http(502, "bad gw")])
    assert isinstance(result, ProviderError) and result.status == 502
    assert len(calls) == 3


def test_no_retry_on_a_permanent_failure():
    result, calls, slept = run(Policy(retries=5), [http(401), "never"])
    assert isinstance(result, ProviderError) and result.status == 401
    assert len(calls) == 1 and slept == []


def test_retry_after_ms_beats_retry_after_seconds():
    e = http(429, headers={"retry-after-ms": "1500", "retry-after": "9"})
    _, calls, slept = run(Policy(), [e, "ok"])
    assert slept == [pytest.approx(1.5)]


def test_retry_after_seconds_and_http_date_are_honoured():
    _, _, slept = run(Policy(), [http(429, headers={"retry-after": "2.5"}), "ok"])
    assert slept == [pytest.approx(2.5)]
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=4), usegmt=True)
    _, _, slept = run(Policy(), [http(503, headers={"retry-after": when}), "ok"])
    assert 2.5 < slept[0] <= 4.0


def test_a_server_asking_for_longer_than_the_cap_is_not_retried():
    e = http(429, headers={"retry-after": "120"})
    result, calls, slept = run(Policy(max_retry_after=60), [e, "ok"])
    assert result is e and len(calls) == 1 and slept == []


def test_no_wait_past_the_deadline_moves_on_at_once():
    clock = FakeClock()
    # 3 s asked for, 2 s left before the deadline: do not sleep, give up now.
    e = http(429, headers={"retry-after": "3"})
    result, calls, slept = run(Policy(), [e, "ok"], deadline=clock.now + 2.0, clock=clock)
    assert result is e and slept == []
    # Backoff too: 0.5 s would fit in 2 s, 1 s would not fit in the 0.6 s left after it.
    clock = FakeClock()
    result, calls, slept = run(
        Policy(retries=5), [http(503)] * 6, deadline=clock.now + 1.1, clock=clock, rand=lambda: 0.0
    )
    assert slept == [pytest.approx(0.5)] and len(calls) == 2


def test_retries_zero_means_one_attempt():
    result, calls, _ = run(Policy(retries=0), [http(503), "ok"])
    assert isinstance(result, ProviderError) and len(calls) == 1


def test_x_should_retry_false_does_not_make_a_503_permanent():
    e = http(503, headers={"x-should-retry": "false"})
    assert e.transient  # still "try again later" for the exit code
    assert not retryable(e)  # but not now, on this provider


# ---------------------------------------------------------------- what failures lead to


def _attempts(*statuses):
    from rfctl.ledger import Attempt

    return [Attempt("a", "openai", "m", "error", 1.0, http_status=s) for s in statuses]


@pytest.mark.parametrize(
    "error, statuses, probe, out_of_time, expect",
    [
        (refused(), [None], False, False, (30, "connect")),
        (ProviderError("timeout", "no response in 1 s", transient=True), [None], False, False,
         (30, "no response: no response in 1 s")),
        (ProviderError("timeout", "no response in 1 s", transient=True), [None], False, True, None),
        (ProviderError("timeout", "stalled", transient=True, accepted=True), [None], False, False,
         None),
        (http(503), [503, 503, 503], False, False, (30, "3 server errors in a row")),
        (http(503), [429, 503], False, False, None),
        (http(429), [429], True, False, (30, "http 429")),
        (http(503, headers={"retry-after": "300"}), [503], False, False,
         (300, "asked to retry after 300 s")),
        (http(401, "bad key"), [401], True, False, None),
    ],
    ids=["refused", "never-answered", "out-of-time", "accepted-then-silent", "5xx-in-a-row",
         "one-5xx", "failed-probe", "retry-after-beyond-cap", "not-transient"],
)  # fmt: skip
def test_which_failures_start_a_cooldown(error, statuses, probe, out_of_time, expect):
    from rfctl.routing import cooldown
    from rfctl.settings import Policy

    got = cooldown.decide(
        error, _attempts(*statuses), Policy(), default_s=30, probe=probe, out_of_time=out_of_time
    )
    if expect is None:
        assert got is None
    else:
        assert got.seconds == pytest.approx(expect[0], abs=1) and expect[1] in got.reason


@pytest.mark.parametrize(
    "failures, skipped, code, message",
    [
        ([("a", http(503))], [], 75, "a: http 503"),
        ([("a", http(503)), ("b", refused())], [], 69, "no provider could answer: a: http 503"),
        ([("a", http(400, "prompt is too long: 300000 tokens > 200000 maximum"))], [], 65, "a:"),
        ([("a", http(400, "prompt is too long: 300000 tokens > 200000 maximum"))], ["b"], 69,
         "no provider could answer: a: http 400"),
        ([], [], 75, "deadline of 4 s reached"),
        ([("a", http(503)), ("a", http(401, "bad key"))], [], 69, "a: http 401"),
    ],
    ids=["transient", "refused-is-not", "all-context", "context-then-deadline", "nothing-tried",
         "last-failure-per-provider"],
)  # fmt: skip
def test_how_a_call_without_an_answer_ends(failures, skipped, code, message):
    from rfctl.routing import verdict

    err = verdict.exhausted(failures, skipped, 4.0)
    assert int(err.code) == code
    assert err.message.startswith(message)
