"""`rfctl generate` as a shell user sees it: the prompt, stdout, stderr, exit codes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from conftest import REPO, free_port


def test_stub_answers_from_stdin(rfctl):
    run = rfctl("generate", "-p", "stub", input="hello world\n")
    assert run.code == 0, run.err
    assert run.out.endswith("\n") and run.out.strip()
    assert run.err == ""


def test_stdin_comes_before_the_arguments(rfctl):
    run = rfctl("generate", "-p", "stub", "--format", "json", "--dry-run", "SECOND", input="FIRST")
    assert run.code == 0, run.err
    both = rfctl("generate", "-p", "stub", "--format", "json", "SECOND", input="FIRST")
    assert both.code == 0, both.err
    assert json.loads(both.out)["ok"] is True


def test_empty_prompt_is_bad_input(rfctl):
    run = rfctl("generate", "-p", "stub", input="  \n")
    assert run.code == 65
    assert run.out == ""
    assert run.err.startswith("rfctl: error: empty prompt")


def test_bad_flag_is_a_usage_error(rfctl):
    run = rfctl("generate", "--temperature", "warm", input="x")
    assert run.code == 2
    assert "Traceback" not in run.err


def test_unknown_provider_is_a_config_error(rfctl):
    run = rfctl("generate", "-p", "nosuch", input="x")
    assert run.code == 78
    assert "nosuch" in run.err


def test_pinned_cloud_provider_without_key_is_a_config_error(rfctl):
    run = rfctl("generate", "-p", "claude", input="x")
    assert run.code == 78
    assert "ANTHROPIC_API_KEY" in run.err


def test_json_format_has_the_documented_fields(rfctl):
    run = rfctl("generate", "-p", "stub", "--format", "json", input="hi")
    assert run.code == 0, run.err
    rec = json.loads(run.out)
    for key in (
        "ok",
        "text",
        "provider",
        "model",
        "finish_reason",
        "usage",
        "cost_usd",
        "latency_ms",
        "attempts",
        "request_id",
    ):
        assert key in rec, key
    assert rec["provider"] == "stub"
    assert rec["attempts"][0]["status"] == "ok"


def test_output_file_is_written_whole(rfctl, tmp_path):
    target = tmp_path / "answer.txt"
    run = rfctl("generate", "-p", "stub", "-o", str(target), input="hi")
    assert run.code == 0, run.err
    assert run.out == ""
    assert target.read_text().strip()
    assert [p.name for p in tmp_path.iterdir()] == ["answer.txt"]  # no temp file left


def test_failed_call_leaves_no_output_file(rfctl, write_config, tmp_path):
    port = free_port()  # nothing listens there
    write_config(f'[providers.down]\nkind = "llamacpp"\nbase_url = "http://127.0.0.1:{port}/v1"\n')
    target = tmp_path / "answer.txt"
    run = rfctl("generate", "-p", "down", "-o", str(target), "--retries", "0", input="hi")
    assert run.code == 69  # a refused connection counts as not transient
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_unwritable_output_fails_before_sending(rfctl, tmp_path):
    run = rfctl("generate", "-p", "stub", "-o", str(tmp_path / "no" / "dir" / "a.txt"), input="x")
    assert run.code == 73
    assert run.err.startswith("rfctl: error: cannot write")


def test_closed_pipe_downstream_is_quiet(tmp_path):
    prompt = "word " * 30000
    cmd = (
        f"{sys.executable} -m rfctl generate -p stub --max-tokens 100000 | head -c 1 "
        f">/dev/null; echo ${{PIPESTATUS[0]}}"
    )
    proc = subprocess.run(
        ["bash", "-c", cmd], input=prompt, capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert "Traceback" not in proc.stderr
    assert "Broken pipe" not in proc.stderr
    assert proc.stdout.strip() == "0"


def test_ctrl_c_exits_130_without_traceback(tmp_path, write_config):
    # A server that accepts and never answers keeps rfctl waiting.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    conns = []
    threading.Thread(target=lambda: conns.append(srv.accept()), daemon=True).start()
    write_config(f'[providers.slow]\nkind = "llamacpp"\nbase_url = "http://127.0.0.1:{port}/v1"\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "rfctl", "generate", "-p", "slow", "hi"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 20
    while not conns and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    srv.close()
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert out == ""


def test_jsonl_batch_keeps_input_order_and_reports_bad_lines(rfctl):
    lines = [
        json.dumps("first"),
        json.dumps({"id": "b", "prompt": "second", "metadata": {"k": 1}}),
        "{not json",
        json.dumps({"prompt": "fourth"}),
    ]
    run = rfctl("generate", "-p", "stub", "--jsonl", "-j", "3", input="\n".join(lines) + "\n")
    assert run.code == 1, run.err
    out = [json.loads(line) for line in run.out.splitlines()]
    assert [r["id"] for r in out] == ["1", "b", "3", "4"]
    assert [r["ok"] for r in out] == [True, True, False, True]
    assert out[1]["metadata"] == {"k": 1}
    assert out[2]["error"]["code"] == 65


def test_jsonl_batch_all_ok_exits_0(rfctl):
    run = rfctl("generate", "-p", "stub", "--jsonl", input='"a"\n"b"\n')
    assert run.code == 0, run.err
    assert len(run.out.splitlines()) == 2


# ---------------------------------------------------------------- --jsonl: lines fail alone


def test_jsonl_numbers_too_big_for_a_float_fail_alone(rfctl):
    huge = "1" + "0" * 400  # valid JSON; float() overflows on it
    lines = [
        '"first"',
        f'{{"prompt": "x", "max_tokens": {huge}}}',
        '{"prompt": "x", "max_tokens": 1e400}',
        f'{{"prompt": "x", "temperature": {huge}}}',
        '{"prompt": "x", "max_tokens": 2.5}',
        '{"prompt": "x", "max_tokens": true}',
        '"last"',
    ]
    run = rfctl("generate", "-p", "stub", "--jsonl", "-j", "2", input="\n".join(lines) + "\n")
    assert run.code == 1, run.err
    assert "Traceback" not in run.err
    out = [json.loads(line) for line in run.out.splitlines()]
    assert [r["ok"] for r in out] == [True, False, False, False, False, False, True]
    for rec in out[1:-1]:
        assert rec["error"]["code"] == 65
    assert "max_tokens must be a whole number" in out[1]["error"]["message"]
    assert "temperature must be a finite number" in out[3]["error"]["message"]


def test_jsonl_lone_surrogates_anywhere_fail_that_line_only(rfctl):
    lines = [
        '{"prompt": "\\ud800 x"}',
        '{"prompt": "x", "id": "\\udc00"}',
        '{"prompt": "x", "metadata": {"note": "\\ud800"}}',
        '{"prompt": "x", "system": "\\ud800"}',
        '{"prompt": "fine", "id": "ok", "metadata": {"note": "caf\\u00e9"}}',
    ]
    run = rfctl("generate", "-p", "stub", "--jsonl", input="\n".join(lines) + "\n")
    assert run.code == 1, run.err
    out = [json.loads(line) for line in run.out.splitlines()]
    assert [r["ok"] for r in out] == [False, False, False, False, True]
    assert "prompt" in out[0]["error"]["message"]
    assert "not valid Unicode" in out[0]["error"]["message"]
    assert out[1]["id"] == "2"  # an id that cannot be written back: the line number
    assert "metadata" not in out[2]
    assert out[4]["id"] == "ok" and out[4]["metadata"] == {"note": "café"}


def test_jsonl_empty_names_and_deep_nesting_fail_alone(rfctl):
    lines = [
        '{"prompt": "x", "provider": ""}',
        '{"prompt": "x", "model": "  "}',
        '{"prompt": "x", "stop": ["ok", 5]}',
        "[" * 100000,
        '"fine"',
    ]
    run = rfctl("generate", "-p", "stub", "--jsonl", input="\n".join(lines) + "\n")
    assert run.code == 1, run.err
    assert "Traceback" not in run.err
    out = [json.loads(line) for line in run.out.splitlines()]
    assert [r["ok"] for r in out] == [False, False, False, False, True]
    assert "provider must be a non-empty string" in out[0]["error"]["message"]
    assert "stop must be a string or a list of strings" in out[2]["error"]["message"]


def test_jsonl_answers_each_line_before_the_next_arrives():
    """A program that writes one line and waits for its answer gets it:
    results are not held back until more input (or EOF) arrives."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rfctl", "generate", "-p", "stub", "--jsonl", "-j", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    lines: list[str] = []
    arrived = threading.Semaphore(0)

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            arrived.release()

    threading.Thread(target=read, daemon=True).start()
    try:
        for i in range(3):
            proc.stdin.write(json.dumps({"id": f"q{i}", "prompt": f"question {i}"}) + "\n")
            proc.stdin.flush()
            assert arrived.acquire(timeout=20), "no answer while the next line was unwritten"
            assert json.loads(lines[i])["id"] == f"q{i}"
        proc.stdin.close()
        assert proc.wait(20) == 0
    finally:
        proc.kill()


def test_jsonl_with_stdin_closed_is_bad_input(monkeypatch, capsys):
    from rfctl import cli

    monkeypatch.setattr(sys, "stdin", None)
    assert cli.main(["generate", "-p", "stub", "--jsonl"]) == 65
    assert "stdin is closed" in capsys.readouterr().err


def test_ctrl_c_during_a_jsonl_batch_exits_at_once_without_cooldowns(tmp_path, write_config):
    """Two lines in flight against a server that never answers (6 s attempt
    bound): Ctrl-C ends the batch at once, 130, and leaves no cooldown, since
    the provider did nothing wrong."""
    from faults import FaultServer, Silent

    from rfctl import state

    state_file = tmp_path / "state.json"
    batch = tmp_path / "batch.jsonl"
    batch.write_text('"one"\n"two"\n"three"\n')
    with batch.open() as stdin, FaultServer(default=Silent()) as srv:
        write_config(f'[providers.slow]\nkind = "vllm"\nbase_url = "{srv.url}"\nmodel = "m"\n')
        proc = subprocess.Popen(
            [sys.executable, "-m", "rfctl", "generate", "-p", "slow", "--jsonl", "-j", "2"]
            + ["--timeout", "6"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "RFCTL_STATE": str(state_file)},
        )
        deadline = time.monotonic() + 20
        while len(srv.chat()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(srv.chat()) == 2
        time.sleep(0.1)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        took = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert took < 1.5
    assert "Traceback" not in err
    assert out == ""
    assert "slow" not in state.cooldowns(state_file)
    assert len(srv.chat()) == 2  # the third line never started
