"""The daily budget holds under concurrency and fails closed: each paid
attempt reserves its worst-case estimate in the router state before it is
sent and settles its real cost after; a budget that cannot be checked
refuses (77) with the reason. The servers count what they received and the
log must hold exactly that."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import pytest
from faults import OK, FaultServer
from ledger_helpers import DIME_TEXT, Host, config_text, run_all, sent, write_world

from rfctl import state


@pytest.fixture
def dime(tmp_path):
    """A $0.10 call (10 output tokens at $10,000/M, max_tokens 10) against a
    $1.00 budget."""
    srv = FaultServer(default=OK(text=DIME_TEXT)).start()
    config, models = write_world(tmp_path, config_text({"a": srv}, budget=1.0))
    host = Host(tmp_path, "host", config, models)
    yield srv, host
    srv.stop()


ARGS = ["generate", "--max-tokens", "10", "hi"]


def spent(records) -> float:
    return sum(r["cost_usd"] or 0 for r in records)


def test_sixteen_parallel_calls_stay_within_the_budget(dime):
    srv, host = dime
    results = run_all([(ARGS, host.env)] * 16)
    codes = sorted(code for code, _, _ in results)
    assert codes == [0] * 10 + [77] * 6, [e for _, _, e in results]
    for code, _, err in results:
        if code == 77:
            assert err.startswith("rfctl: error: refused before sending") and "daily budget" in err
    recs = host.records()
    assert len(recs) == sent(srv) == 10
    assert spent(recs) == pytest.approx(1.00)
    assert state.FileState(host.state).spent(_today()) == pytest.approx(1.00)


def test_a_state_that_cannot_be_written_refuses(rfctl, dime, tmp_path):
    srv, host = dime
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = {**host.env, "RFCTL_STATE": str(blocker / "state.json")}
    run = rfctl(*ARGS, env=env)
    assert run.code == 77
    assert run.err.startswith("rfctl: error: cannot check the budget in ")
    assert len(run.err.splitlines()) == 1 and sent(srv) == 0 and host.records() == []


def test_a_log_that_cannot_be_read_refuses(rfctl, dime, tmp_path):
    srv, host = dime
    bad = tmp_path / "log-dir"
    bad.mkdir()
    run = rfctl(*ARGS, env={**host.env, "RFCTL_USAGE_LOG": str(bad)})
    assert run.code == 77
    assert "cannot check the daily budget: cannot read the usage log" in run.err
    assert sent(srv) == 0


def test_spend_in_the_log_counts_without_a_counter(rfctl, dime):
    srv, host = dime
    rec = {"ts": _now(), "request_id": "x", "provider": "a", "kind": "openai", "model": "m"}
    rec.update(status="ok", attempt=1, latency_ms=1.0, cost_usd=0.95)
    host.log.write_text(json.dumps(rec, separators=(",", ":")) + "\n")
    run = rfctl(*ARGS, env=host.env)
    assert run.code == 77 and sent(srv) == 0
    assert "$0.9500 spent today" in run.err


def test_spend_in_the_counter_counts_without_the_log(rfctl, dime):
    srv, host = dime
    backend = state.FileState(host.state)
    backend.settle(backend.reserve(_today(), 0.95, 1.0, 60), 0.95)
    run = rfctl(*ARGS, env=host.env)
    assert run.code == 77 and sent(srv) == 0


def test_a_dead_process_holds_no_budget(rfctl, dime):
    srv, host = dime
    rid = f"{_today()}/dead"
    host.state.write_text(
        json.dumps(
            {
                "version": 1,
                "budget": {
                    "reservations": {
                        rid: {
                            "amount": 0.95,
                            "expires": time.time() + 600,
                            "pid": _dead_pid(),
                            "host": os.uname().nodename,
                        }
                    }
                },
            }
        )
    )
    run = rfctl(*ARGS, env=host.env)
    assert run.code == 0, run.err
    assert sent(srv) == 1 and len(host.records()) == 1


def test_a_failed_call_releases_its_hold(rfctl, tmp_path):
    from faults import Status

    with FaultServer(default=Status(400, "bad request")) as srv:
        config, models = write_world(tmp_path, config_text({"a": srv}, budget=1.0))
        host = Host(tmp_path, "h", config, models)
        for _ in range(12):  # more than ten $0.10 holds: each was released
            assert rfctl(*ARGS, env=host.env).code != 77
    data = json.loads(host.state.read_text())
    assert data["budget"]["reservations"] == {}
    assert len(host.records()) == sent(srv) == 12


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _dead_pid() -> int:
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_log_that_cannot_be_written_still_holds_the_budget(rfctl, dime, tmp_path):
    """The spend counter lives in the state: an unwritable log costs a
    warning, not the budget."""
    srv, host = dime
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    env = {**host.env, "RFCTL_USAGE_LOG": str(blocker / "usage.jsonl")}
    codes = [rfctl(*ARGS, env=env).code for _ in range(11)]
    assert codes == [0] * 10 + [77]
    assert sent(srv) == 10
    assert state.FileState(host.state).spent(_today()) == pytest.approx(1.00)


def test_a_budget_held_by_calls_in_flight_still_answers_in_json(rfctl, dime):
    srv, host = dime
    backend = state.FileState(host.state)
    backend.reserve(_today(), 0.95, 1.0, 600)  # another call in flight holds $0.95
    run = rfctl(*ARGS[:-1], "--format", "json", "hi", env=host.env)
    assert run.code == 77 and sent(srv) == 0
    rec = json.loads(run.out)
    assert rec["ok"] is False and rec["error"]["code"] == 77
    assert "what calls in flight hold" in rec["error"]["message"]
