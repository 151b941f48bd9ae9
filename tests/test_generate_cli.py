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
    assert run.code == 69  # connection refused: DESIGN.md counts it as not transient
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
