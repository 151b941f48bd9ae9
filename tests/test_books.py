"""Every request that left the machine is exactly one usage-log record: ok,
error or interrupted, with tokens as reported or estimated, and their price.

Each test counts what the server received and what the log holds; the two
must match. Signals and closed pipes need a real process.
"""

from __future__ import annotations

import json
import signal
import time

import pytest
from faults import OK, Cut, FaultServer, Silent
from ledger_helpers import DIME_MODELS, DIME_TEXT, config_text, read_log, sent, spawn, write_world


@pytest.fixture
def world(tmp_path):
    def make(srv, **kw):
        config, models = write_world(tmp_path, config_text({"a": srv}, **kw))
        log = tmp_path / "usage.jsonl"
        env = {
            "RFCTL_CONFIG": str(config),
            "RFCTL_MODELS": str(models),
            "RFCTL_USAGE_LOG": str(log),
            "RFCTL_STATE": str(tmp_path / "state.json"),
        }
        return env, log

    return make


def wait_for(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cond()


@pytest.mark.parametrize(
    "signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_signal_mid_call_books_the_attempt_as_interrupted(world, signum, code):
    with FaultServer(default=Silent()) as srv:
        env, log = world(srv)
        proc = spawn(["generate", "--timeout", "20", "say something"], env)
        wait_for(lambda: sent(srv) == 1)
        time.sleep(0.1)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    recs = read_log(log)
    assert len(recs) == sent(srv) == 1
    r = recs[0]
    assert r["status"] == "interrupted" and signal.Signals(signum).name in r["error"]
    assert r["tokens_source"] == "estimate" and r["input_tokens"] > 0
    assert r["cost_usd"] is not None  # priced from the estimate


def test_a_closed_output_pipe_books_the_streamed_attempt(world):
    long = " ".join(f"w{i}" for i in range(20000))
    with FaultServer(default=OK(text=long)) as srv:
        env, log = world(srv)
        proc = spawn(["generate", "--stream", "say something"], env)
        assert len(proc.stdout.read(10)) == 10  # `| head -c 10`
        proc.stdout.close()
        proc.wait(timeout=30)
        err = proc.stderr.read()
    assert proc.returncode == 0 and "Traceback" not in err
    recs = read_log(log)
    assert len(recs) == sent(srv) == 1
    r = recs[0]
    assert r["status"] == "interrupted" and r["error"] == "output closed"
    assert r["tokens_source"] == "estimate" and r["output_tokens"] > 0
    assert r["cost_usd"] > 0


def test_a_stream_cut_after_reported_usage_is_booked_with_that_usage(tmp_path, monkeypatch):
    """The accumulator keeps the usage a stream reported before it broke, and
    the books price it (the provider bills it)."""
    from router_helpers import Script, load_config, log_records, make_paths

    from rfctl import routing
    from rfctl.providers.answer import Answer
    from rfctl.providers.base import ProviderError, Request, Usage

    def cut_after_usage(req, timeouts, on_text):
        ans = Answer(clock=None)
        ans.usage = Usage(7, 10, reported=True)
        e = ProviderError("stream", "connection broken", transient=True)
        ans.failed(e)
        raise e

    (tmp_path / "models.yaml").write_text(DIME_MODELS)
    cfg = load_config(config_text({"a": "http://127.0.0.1:9/v1"}), tmp_path)
    paths = make_paths(tmp_path)
    Script(a=[cut_after_usage]).install(monkeypatch)
    routing.run(cfg, paths, Request(prompt="hi", max_tokens=10), routing.Options(fallback=False))
    (r,) = log_records(paths)
    assert r["status"] == "error"
    assert (r["input_tokens"], r["output_tokens"], r["tokens_source"]) == (7, 10, "provider")
    assert r["cost_usd"] == pytest.approx(0.10)


def test_a_stream_cut_before_any_usage_is_priced_from_an_estimate(rfctl, world):
    with FaultServer([Cut(after=3, text=DIME_TEXT)], default=OK(text=DIME_TEXT)) as srv:
        env, log = world(srv, defaults={"retries": 0})
        rfctl("generate", "--max-tokens", "10", "hi", env=env)
        recs = read_log(log)
    assert len(recs) == sent(srv) >= 1
    r = recs[0]
    assert r["status"] == "error" and r["tokens_source"] == "estimate"
    assert r["output_tokens"] >= 3 and r["cost_usd"] > 0


def test_probe_generate_books_its_attempt_as_a_probe(rfctl, world):
    with FaultServer(default=OK(text="hi")) as srv:
        env, log = world(srv)
        run = rfctl("probe", "--generate", "--timeout", "5", env=env)
        recs = read_log(log)
    assert run.code == 0, run.out + run.err
    assert len(recs) == sent(srv) == 1
    assert recs[0]["probe"] is True and recs[0]["status"] == "ok"
    assert recs[0]["cost_usd"] is not None


def test_ctrl_c_in_a_batch_books_every_line_in_flight(world, tmp_path):
    batch = tmp_path / "batch.jsonl"
    batch.write_text('"one"\n"two"\n"three"\n')
    with FaultServer(default=Silent()) as srv:
        env, log = world(srv)
        with batch.open() as stdin:
            proc = spawn(["generate", "--jsonl", "-j", "2", "--timeout", "20"], env, stdin=stdin)
            wait_for(lambda: sent(srv) == 2)
            time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    recs = read_log(log)
    assert len(recs) == sent(srv) == 2
    assert {r["status"] for r in recs} == {"interrupted"}
    assert len({r["request_id"] for r in recs}) == 2


def test_fallback_and_retry_counters_mean_what_they_say(rfctl, tmp_path):
    from faults import Status

    a = FaultServer([Status(503)], default=OK()).start()  # one 503, then fine: a retry
    b = FaultServer().start()
    try:
        config, models = write_world(
            tmp_path, config_text({"a": a, "b": b}, model="gpt-4o", defaults={"retries": 1})
        )
        log = tmp_path / "usage.jsonl"
        env = {"RFCTL_CONFIG": str(config), "RFCTL_USAGE_LOG": str(log)}
        assert rfctl("generate", "hi", env=env).code == 0  # a: 503, a: ok (a retry)
        a.stop()
        assert rfctl("generate", "hi", env=env).code == 0  # a: refused, b: ok (a fallback)
        recs = read_log(log)
        assert len(recs) == 4
        run = rfctl("usage", "--format", "prometheus", env=env)
    finally:
        a.stop()
        b.stop()
    assert run.code == 0, run.err
    lines = dict(x.rsplit(" ", 1) for x in run.out.splitlines() if x and x[0] != "#")
    assert lines["rfctl_fallbacks_total"] == "1"
    assert lines["rfctl_retried_requests_total"] == "1"


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_models_file_that_does_not_exist_is_a_config_error(rfctl, tmp_path, how):
    missing = str(tmp_path / "nope.yaml")
    args = ["--models-file", missing] if how == "option" else []
    env = {"RFCTL_MODELS": missing} if how == "env" else {}
    run = rfctl("generate", *args, "-p", "stub", "hi", env=env)
    assert run.code == 78
    assert run.err.strip() == f"rfctl: error: {missing}: models file not found"


def test_dry_run_jsonl_prints_the_plan_of_each_line(rfctl):
    lines = '"hello"\n{"prompt": "hi", "id": "x", "provider": "nope"}\n'
    run = rfctl("generate", "-p", "stub", "--jsonl", "--dry-run", input=lines)
    recs = [json.loads(x) for x in run.out.splitlines()]
    assert run.code == 1
    assert recs[0]["ok"] and recs[0]["plan"]["candidates"][0]["provider"] == "stub"
    assert recs[1]["id"] == "x" and not recs[1]["ok"] and recs[1]["error"]["code"] == 78
