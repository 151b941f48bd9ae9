"""generate --jsonl where the process boundary is the point: Ctrl-C mid-batch,
results streaming out before the input ends, the progress line on a
terminal and rich staying unimported without one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from batch_helpers import BatchFiles, ByPrompt, lines_of, provider, results
from faults import OK

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def files(tmp_path, monkeypatch) -> BatchFiles:
    f = BatchFiles(tmp_path, tmp_path / "usage.jsonl", tmp_path / "state.json")
    monkeypatch.setenv("RFCTL_USAGE_LOG", str(f.log))
    monkeypatch.setenv("RFCTL_STATE", str(f.state))
    return f


def start(args: list[str], stdin, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rfctl", "generate", *args],
        stdin=stdin,
        stdout=kw.pop("stdout", subprocess.PIPE),
        stderr=kw.pop("stderr", subprocess.PIPE),
        cwd=REPO,
        env=os.environ.copy(),
        **kw,
    )


@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "-o"])
def test_ctrl_c_mid_batch_keeps_every_finished_result_and_resume_finishes(
    files, write_config, to_file
):
    src = files.dir / "in.jsonl"
    src.write_text(files.input(lines_of(40)))
    out_file = files.dir / "out.jsonl"
    with ByPrompt(lambda p: OK(first_token_delay=0.3)) as srv:
        write_config(provider("local", srv.url))
        args = ["--jsonl", "-j", "4"] + (["-o", str(out_file)] if to_file else [])
        with src.open() as stdin:
            proc = start(args, stdin)
            deadline = time.monotonic() + 20
            while len(srv.chat()) < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        assert proc.returncode == 130, err
        assert b"Traceback" not in err
        if to_file:
            assert out == b""
            out = out_file.read_bytes()
        written = results(out.decode())
        sent = srv.prompts()
        # The lines in flight finished within the grace period: everything
        # that was sent (and paid for) is in the output and in the log.
        assert sorted(r["id"] for r in written) == sorted(sent)
        assert all(r["ok"] for r in written)
        assert 10 <= len(written) < 40
        logged = {r["request_id"] for r in files.log_records() if r["status"] == "ok"}
        assert logged == {r["request_id"] for r in written}

        # --resume picks up exactly where it stopped.
        prev = files.dir / "prev.jsonl"
        prev.write_bytes(out)
        resume = ["--resume", str(out_file if to_file else prev)]
        with src.open() as stdin:
            proc = start(["--jsonl", "-j", "4", *resume, *args[3:]], stdin)
            out2, err2 = proc.communicate(timeout=60)
        assert proc.returncode == 0, err2
        assert sorted(srv.prompts()[len(sent) :]) == sorted(
            f"q{i}" for i in range(1, 41) if f"q{i}" not in sent
        )
    final = results((out_file.read_bytes() if to_file else out2).decode())
    assert [r["id"] for r in final] == [f"q{i}" for i in range(1, 41)]
    assert all(r["ok"] for r in final)


@pytest.mark.parametrize("order", [[], ["--unordered"]], ids=["in order", "unordered"])
def test_results_stream_out_before_the_input_ends(files, write_config, order):
    with ByPrompt(lambda p: OK()) as srv:
        write_config(provider("local", srv.url))
        proc = start(["--jsonl", "-j", "4", *order], subprocess.PIPE, text=True)
        got: list[str] = []
        arrived = threading.Semaphore(0)

        def read() -> None:
            for line in proc.stdout:
                got.append(line)
                arrived.release()

        threading.Thread(target=read, daemon=True).start()
        try:
            for i in range(3):
                proc.stdin.write(json.dumps({"id": f"q{i}", "prompt": f"q{i}"}) + "\n")
                proc.stdin.flush()
                assert arrived.acquire(timeout=20), "no answer while the next line was unwritten"
                assert json.loads(got[i])["id"] == f"q{i}"
            proc.stdin.close()
            assert proc.wait(20) == 0
        finally:
            proc.kill()


def test_progress_line_on_a_terminal_and_never_on_stdout(files, write_config):
    import pty

    src = files.dir / "in.jsonl"
    src.write_text(files.input(lines_of(5)))
    master, slave = pty.openpty()
    with ByPrompt(lambda p: OK()) as srv:
        write_config(provider("local", srv.url))
        with src.open() as stdin:
            proc = start(["--jsonl", "-j", "2"], stdin, stderr=slave)
            os.close(slave)
            out, _ = proc.communicate(timeout=30)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal's other end closed
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    assert proc.returncode == 0
    assert [r["id"] for r in results(out.decode())] == [f"q{i}" for i in range(1, 6)]
    text = screen.decode("utf-8", "replace")
    assert "5/5" in text  # done/total: stdin is a file, so the total is known
    assert "0 errors" in text
    assert "$0.0000" in text
    assert "Traceback" not in text


def test_no_terminal_no_progress_and_no_rich(files, write_config):
    code = (
        "import sys; from rfctl import cli; rc = cli.main(['generate', '-p', 'stub', '--jsonl']);"
        "sys.stderr.write('rich imported\\n' if 'rich' in sys.modules else ''); sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input='"a"\n"b"\n',
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert len(proc.stdout.splitlines()) == 2
