"""generate --jsonl through the real command (in-process): order, --unordered,
bad lines, --resume, fallback when a provider fails half-way, and pacing."""

from __future__ import annotations

import json
import random

import pytest
from batch_helpers import BatchFiles, ByPrompt, lines_of, provider, results
from faults import OK, FaultServer, Status


@pytest.fixture
def files(tmp_path, monkeypatch) -> BatchFiles:
    f = BatchFiles(tmp_path, tmp_path / "usage.jsonl", tmp_path / "state.json")
    monkeypatch.setenv("RFCTL_USAGE_LOG", str(f.log))
    monkeypatch.setenv("RFCTL_STATE", str(f.state))
    return f


FAST_RETRY = "[defaults]\nbackoff = 0.01\nmax_backoff = 0.02\n"


def test_order_is_kept_with_8_in_flight_and_random_delays(rfctl, files, write_config):
    rng = random.Random(11)
    delays = {f"q{i}": rng.uniform(0, 0.15) for i in range(1, 41)}
    with ByPrompt(lambda p: OK(first_token_delay=delays[p])) as srv:
        write_config(provider("local", srv.url))
        run = rfctl("generate", "--jsonl", "-j", "8", input=files.input(lines_of(40)))
    assert run.code == 0, run.err
    assert run.err == ""  # stderr is not a terminal: no progress line
    out = results(run.out)
    assert [r["id"] for r in out] == [f"q{i}" for i in range(1, 41)]
    assert all(r["ok"] for r in out)
    assert len(srv.chat()) == 40
    logged = files.log_records()
    assert sorted(r["request_id"] for r in logged) == sorted(r["request_id"] for r in out)


def test_unordered_writes_each_result_as_it_finishes(rfctl, files, write_config):
    # q1 is slow: in order it would hold every other line back.
    with ByPrompt(lambda p: OK(first_token_delay=0.8 if p == "q1" else 0.0)) as srv:
        write_config(provider("local", srv.url))
        run = rfctl(
            "generate", "--jsonl", "-j", "4", "--unordered", input=files.input(lines_of(12))
        )
    assert run.code == 0, run.err
    ids = [r["id"] for r in results(run.out)]
    assert sorted(ids) == sorted(f"q{i}" for i in range(1, 13))
    assert ids[-1] == "q1"


def test_bad_lines_mixed_with_good_fail_alone(rfctl, files, write_config):
    lines = [
        {"id": "a", "prompt": "a"},
        "{not json",
        {"id": "c", "prompt": "c"},
        {"id": "d", "prompt": ""},
        {"id": "e", "prompt": "e", "max_tokens": 0},
        {"id": "f", "prompt": "f"},
    ]
    with ByPrompt(lambda p: OK()) as srv:
        write_config(provider("local", srv.url))
        run = rfctl("generate", "--jsonl", "-j", "4", input=files.input(lines))
    assert run.code == 1, run.err
    assert "Traceback" not in run.err
    out = results(run.out)
    assert [r["id"] for r in out] == ["a", "2", "c", "d", "e", "f"]
    assert [r["ok"] for r in out] == [True, False, True, False, False, True]
    assert {r["error"]["code"] for r in out if not r["ok"]} == {65}
    assert sorted(srv.prompts()) == ["a", "c", "f"]
    assert len(files.log_records()) == 3  # bad lines send nothing and log nothing


def test_resume_runs_only_what_failed_and_completes_the_output(rfctl, files, write_config):
    out_file = files.dir / "out.jsonl"
    failing = {"q3", "q7", "q8"}
    lines = files.input(lines_of(10))
    with ByPrompt(lambda p: Status(400, "bad") if p in failing else OK()) as srv:
        write_config(provider("local", srv.url))
        first = rfctl("generate", "--jsonl", "-j", "3", "-o", str(out_file), input=lines)
        assert first.code == 1
        before = {r["id"]: r for r in results(out_file.read_text())}
        assert {i for i, r in before.items() if not r["ok"]} == failing
        failing.clear()  # the server recovers
        n = len(srv.chat())
        args = ["--jsonl", "-j", "3", "--resume", str(out_file), "-o", str(out_file)]
        second = rfctl("generate", *args, input=lines)
        assert second.code == 0, second.err
        assert sorted(srv.prompts()[n:]) == ["q3", "q7", "q8"]  # exactly the failed ids
    after = results(out_file.read_text())
    assert [r["id"] for r in after] == [f"q{i}" for i in range(1, 11)]
    assert all(r["ok"] for r in after)
    for r in after:  # the earlier successes are carried over as they were
        if r["id"] not in {"q3", "q7", "q8"}:
            assert r == before[r["id"]]
    ok_logged = [r for r in files.log_records() if r["status"] == "ok"]
    assert len(ok_logged) == 10  # each line paid for once


def test_resume_from_a_missing_file_runs_everything(rfctl, files, write_config):
    with ByPrompt(lambda p: OK()) as srv:
        write_config(provider("local", srv.url))
        missing = str(files.dir / "none.jsonl")
        run = rfctl("generate", "--jsonl", "--resume", missing, input=files.input(lines_of(3)))
    assert run.code == 0, run.err
    assert len(srv.chat()) == 3


def test_a_provider_failing_half_way_sends_the_rest_to_the_fallback(rfctl, files, write_config):
    from rfctl import state

    with FaultServer([OK()] * 10, default=Status(503, "overloaded")) as bad, FaultServer() as good:
        write_config(FAST_RETRY + provider("first", bad.url) + provider("second", good.url))
        run = rfctl("generate", "--jsonl", "-j", "4", input=files.input(lines_of(60)))
    assert run.code == 0, run.err
    out = results(run.out)
    assert all(r["ok"] for r in out)
    assert [r["provider"] for r in out[:10]].count("first") >= 6
    assert [r["provider"] for r in out].count("second") >= 50
    # Once its cooldown started nobody asked it again: only the lines in
    # flight at the time (4 workers, 3 attempts each), not one per line left.
    assert len(bad.chat()) <= 10 + 4 * 3
    assert "first" in state.cooldowns(files.state)
    assert len(files.log_records()) == len(bad.chat()) + len(good.chat())


def test_rpm_holds_across_workers(rfctl, files, write_config, monkeypatch):
    from rfctl import pacing

    # A "minute" of two seconds: long beside the jitter between a request
    # leaving a worker and the server reading it on a loaded machine.
    monkeypatch.setattr(pacing, "MINUTE", 2.0)
    with FaultServer() as srv:
        write_config(provider("local", srv.url))
        run = rfctl("generate", "--jsonl", "-j", "8", "--rpm", "5", input=files.input(lines_of(12)))
    assert run.code == 0, run.err
    times = sorted(s.t for s in srv.chat())
    assert len(times) == 12
    # No window of one "minute" holds more than 5 requests.
    assert min(times[i + 5] - times[i] for i in range(len(times) - 5)) > 1.9
    assert times[-1] - times[0] < 7.0  # paced, not serialised further


def test_rpm_from_the_provider_config(rfctl, files, write_config, monkeypatch):
    from rfctl import pacing

    monkeypatch.setattr(pacing, "MINUTE", 2.0)  # see test_rpm_holds_across_workers
    with FaultServer() as srv:
        write_config(provider("local", srv.url, rpm=4))
        run = rfctl("generate", "--jsonl", "-j", "4", input=files.input(lines_of(6)))
    assert run.code == 0, run.err
    times = sorted(s.t for s in srv.chat())
    assert times[4] - times[0] > 1.9


def test_tpm_spaces_requests_by_their_estimated_tokens(rfctl, files, write_config, monkeypatch):
    from rfctl import pacing

    monkeypatch.setattr(pacing, "MINUTE", 2.0)  # see test_rpm_holds_across_workers
    lines = [{"id": f"q{i}", "prompt": "x" * 40, "max_tokens": 40} for i in range(4)]  # 50 each
    with FaultServer() as srv:
        write_config(provider("local", srv.url))
        run = rfctl("generate", "--jsonl", "-j", "4", "--tpm", "200", input=files.input(lines))
    assert run.code == 0, run.err
    times = sorted(s.t for s in srv.chat())
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) > 0.4  # 50 tokens at 200 a "minute": a quarter of it each (0.5 s)


def test_a_429_retry_after_holds_back_every_worker(rfctl, files, write_config):
    with FaultServer([Status(429, "slow down", headers={"Retry-After": "0.8"})]) as srv:
        write_config(FAST_RETRY + provider("local", srv.url))
        run = rfctl("generate", "--jsonl", "-j", "4", input=files.input(lines_of(12)))
    assert run.code == 0, run.err
    seen = srv.chat()
    t429 = seen[0].t
    assert seen[0].action == "Status"
    # The lines already on the wire when the 429 came back were answered; no
    # worker sent anything new until the Retry-After was over.
    during = [s for s in seen[1:] if t429 + 0.1 < s.t < t429 + 0.75]
    assert during == []
    assert len(seen) == 13


@pytest.mark.parametrize(
    "args, message",
    [
        (["--jsonl", "--rpm", "0"], "--rpm must be a number greater than 0"),
        (["--jsonl", "--tpm", "nan"], "--tpm must be a number greater than 0"),
        (["--unordered", "hi"], "--unordered goes with --jsonl"),
        (["--resume", "x.jsonl", "hi"], "--resume goes with --jsonl"),
    ],
)
def test_bad_batch_flags_are_usage_errors(rfctl, files, args, message):
    run = rfctl("generate", "-p", "stub", *args, input='"a"\n')
    assert run.code == 2
    assert run.err == f"rfctl: error: {message}\n"
    assert run.out == ""


def test_rpm_in_the_config_must_be_positive(rfctl, files, write_config):
    write_config(provider("local", "http://127.0.0.1:9/v1", rpm=0))
    run = rfctl("generate", "--jsonl", input='"a"\n')
    assert run.code == 78
    assert run.err.startswith("rfctl: error: ") and "rpm must be greater than 0" in run.err
    assert "Traceback" not in run.err


def test_resume_records_without_an_id_or_broken_are_run_again(rfctl, files, write_config):
    prev = files.dir / "prev.jsonl"
    prev.write_text(
        json.dumps({"id": "q1", "ok": True, "text": "kept"})
        + "\n"
        + json.dumps({"id": "q2", "ok": False})
        + "\n"
        + '{"id": "q3", "ok": tr'  # torn by an interrupted redirect
    )
    with ByPrompt(lambda p: OK()) as srv:
        write_config(provider("local", srv.url))
        run = rfctl("generate", "--jsonl", "--resume", str(prev), input=files.input(lines_of(3)))
    assert run.code == 0, run.err
    assert sorted(srv.prompts()) == ["q2", "q3"]
    out = results(run.out)
    assert out[0] == {"id": "q1", "ok": True, "text": "kept"}


# ---------------------------------------------------------------- the batch's usage log


def _rec(i: int):
    from rfctl.usagelog import UsageRecord, now_iso

    return UsageRecord(now_iso(), f"r{i}", "p", "stub", "m", "ok")


def test_the_kept_open_log_interleaves_whole_lines_with_other_writers(tmp_path):
    import subprocess
    import sys
    import threading
    from pathlib import Path

    from rfctl import usagelog

    log = tmp_path / "u.jsonl"
    other = (
        "from rfctl.usagelog import UsageRecord, append, now_iso\n"
        "for i in range(200):\n"
        f"    append({str(log)!r}, UsageRecord(now_iso(), f'o{{i}}', 'p', 'stub', 'm', 'ok'))\n"
    )
    repo = Path(__file__).resolve().parent.parent
    with usagelog.kept_open(log):
        proc = subprocess.Popen([sys.executable, "-c", other], cwd=repo)

        def batch_worker(k: int) -> None:
            for i in range(200):
                usagelog.append(log, _rec(k * 1000 + i))

        threads = [threading.Thread(target=batch_worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert proc.wait(30) == 0
    ids = [json.loads(x)["request_id"] for x in log.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 1000


def test_the_kept_open_log_follows_a_rotation(tmp_path, monkeypatch):
    from rfctl import usagelog

    monkeypatch.setattr(usagelog._Kept, "RECHECK_S", 0.0)
    log = tmp_path / "u.jsonl"
    with usagelog.kept_open(log):
        usagelog.append(log, _rec(1))
        log.rename(tmp_path / "u.jsonl.1")
        usagelog.append(log, _rec(2))
    assert [json.loads(x)["request_id"] for x in log.read_text().splitlines()] == ["r2"]
    assert "r1" in (tmp_path / "u.jsonl.1").read_text()
    assert usagelog._kept == {}


def test_a_pacing_wait_past_the_deadline_fails_that_line_at_once(rfctl, files, write_config):
    with FaultServer() as srv:
        write_config(provider("local", srv.url))
        args = ["--jsonl", "--rpm", "1", "--deadline", "5", "--retries", "0"]
        run = rfctl("generate", *args, input=files.input(lines_of(2)))
    assert run.code == 1, run.err
    first, second = results(run.out)
    assert first["ok"] and not second["ok"]
    assert second["error"]["code"] == 75
    assert "rate pacing" in second["error"]["message"]
    assert len(srv.chat()) == 1  # the second line was never sent
