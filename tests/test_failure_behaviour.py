"""The failure contract at the edges: encodings, huge inputs, checks made
before anything is sent, answers that are not whole, loops over stdin.

Every failure here ends with its exit code, one `rfctl: error:` line, no
traceback, no output file and a usage log that still parses.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import pytest
from faults import OK, FaultServer
from io_helpers import default_log, failed_cleanly, log_records, sh

CJK = "日本語のテキスト"


@pytest.fixture
def server(write_config):
    """A local OpenAI-compatible server as provider `f`; it counts requests."""
    with FaultServer() as srv:
        write_config(f'[providers.f]\nkind = "llamacpp"\nbase_url = "{srv.url}"\n')
        yield srv


# ---------------------------------------------------------------- 1: encodings


@pytest.mark.parametrize(
    "mode",
    [[], ["--stream"], ["--format", "json"], ["-o", "OUT"], ["--jsonl"]],
    ids=["text", "stream", "json", "output-file", "jsonl"],
)
def test_answers_are_utf8_whatever_the_locale_says(tmp_path, mode):
    out_file = tmp_path / "answer.txt"
    mode = [str(out_file) if m == "OUT" else m for m in mode]
    prompt = json.dumps(CJK, ensure_ascii=False) if "--jsonl" in mode else CJK
    log = tmp_path / "usage.jsonl"
    run = sh(
        f"rfctl generate -p stub {' '.join(mode)}",
        env={"PYTHONIOENCODING": "latin-1", "LC_ALL": "C", "RFCTL_USAGE_LOG": str(log)},
        input=(prompt + "\n").encode("utf-8"),
        text=False,
    )
    assert run.returncode == 0, run.stderr
    assert b"Traceback" not in run.stderr
    written = out_file.read_bytes() if out_file.exists() else run.stdout
    assert CJK in written.decode("utf-8")
    assert [r["status"] for r in log_records(log)] == ["ok"]


def test_a_diagnostic_the_terminal_cannot_show_is_escaped_not_lost(isolated_home):
    run = sh("rfctl generate -p 日本 hi </dev/null", env={"PYTHONIOENCODING": "latin-1"})
    line = failed_cleanly(run.returncode, run.stderr, 78, default_log(isolated_home))
    assert "\\u65e5\\u672c" in line


@pytest.mark.parametrize("mode", [[], ["--stream"], ["--format", "json"], ["-o", "OUT"]], ids=str)
def test_a_lone_surrogate_from_the_server_is_written_as_a_replacement(
    rfctl, server, tmp_path, isolated_home, mode
):
    server.default = OK(text="half \ud800 whole \ud83d\ude00 end")
    out_file = tmp_path / "answer.txt"
    mode = [str(out_file) if m == "OUT" else m for m in mode]
    run = rfctl("generate", "-p", "f", *mode, input="hi")
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    text = out_file.read_text(encoding="utf-8") if out_file.exists() else run.out
    if "json" in mode:
        text = json.loads(text)["text"]
    assert text.strip() == "half \ufffd whole \U0001f600 end"
    assert [r["status"] for r in log_records(default_log(isolated_home))] == ["ok"]


# ---------------------------------------------------------------- 6: huge inputs


def test_stdin_past_max_input_is_refused_before_anything_is_sent(
    rfctl, server, tmp_path, isolated_home
):
    out = tmp_path / "answer.txt"
    run = rfctl("generate", "-p", "f", "--max-input", "1K", "-o", str(out), input="x" * 1025)
    line = failed_cleanly(run.code, run.err, 65, default_log(isolated_home), out)
    assert "--max-input (1K)" in line
    assert server.chat() == []
    assert rfctl("generate", "-p", "f", "--max-input", "1K", input="x" * 1024).code == 0


def test_arguments_count_towards_max_input(rfctl, server, isolated_home):
    run = rfctl("generate", "-p", "f", "--max-input", "10", "x" * 11)
    failed_cleanly(run.code, run.err, 65, default_log(isolated_home))
    assert server.chat() == []


@pytest.mark.parametrize("size", ["0", "ten", "-5", "1T"])
def test_a_bad_max_input_is_a_usage_error(rfctl, size):
    run = rfctl("generate", "-p", "stub", "--max-input", size, "hi")
    assert run.code == 2
    assert "invalid size" in run.err and "Traceback" not in run.err


def _memory_limit(nbytes: int):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (nbytes, nbytes))

    return limit


def test_a_2gb_stdin_under_a_memory_limit_is_one_line_not_a_memory_error(tmp_path):
    log = tmp_path / "usage.jsonl"
    run = sh(
        "head -c 2G /dev/zero | tr '\\0' a | rfctl generate -p stub",
        env={"RFCTL_USAGE_LOG": str(log)},
        preexec_fn=_memory_limit(1 << 30),
    )
    line = failed_cleanly(run.returncode, run.stderr, 65, log)
    assert "--max-input (16M)" in line
    assert run.stdout == ""
    assert log_records(log) == []


def test_a_large_file_on_stdin_is_refused_by_its_size(tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(3 << 30)  # sparse: 3 GiB that cost nothing to make
    run = sh(f"rfctl generate -p stub < {big}", preexec_fn=_memory_limit(1 << 30))
    assert "--max-input" in failed_cleanly(run.returncode, run.stderr, 65, tmp_path / "none")


def test_counting_a_huge_prompt_keeps_to_the_deadline(rfctl, server, isolated_home, monkeypatch):
    # The server reports no usage, so the prompt's tokens are counted after
    # the answer; 8 MB without whitespace takes tiktoken several seconds.
    from rfctl import tokens

    monkeypatch.setattr(tokens, "COUNT_SECONDS", 600.0)  # only the deadline bounds it
    server.default = OK(text="short answer", usage=False)
    start = time.monotonic()
    run = rfctl("generate", "-p", "f", "--deadline", "2", input="a" * (8 << 20))
    took = time.monotonic() - start
    assert run.code == 0, run.err
    (rec,) = log_records(default_log(isolated_home))
    assert rec["tokens_source"] == "estimate"
    assert 900_000 < rec["input_tokens"] < 1_200_000  # ~8 bytes a token, not a byte count
    assert took < 8, f"{took:.1f} s with --deadline 2"


# ---------------------------------------------------------------- 7: checks made in time


def test_an_output_file_that_cannot_be_created_fails_before_sending(rfctl, server, isolated_home):
    from pathlib import Path

    run = rfctl("generate", "-p", "f", "-o", "/proc/x", input="hi")
    line = failed_cleanly(run.code, run.err, 73, default_log(isolated_home), Path("/proc/x"))
    assert "/proc/x" in line
    assert server.chat() == []
    assert log_records(default_log(isolated_home)) == []


def test_output_dash_means_stdout(rfctl, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = rfctl("generate", "-p", "stub", "-o", "-", input="hi")
    assert run.code == 0, run.err
    assert run.out == "stub: hi\n"
    assert list(tmp_path.iterdir()) == []


def test_with_stderr_closed_nothing_but_the_answer_reaches_stdout(tmp_path):
    log = tmp_path / "usage.jsonl"
    cfg = tmp_path / "config.toml"
    cfg.write_text('[providers.down]\nkind = "llamacpp"\nbase_url = "http://127.0.0.1:9/v1"\n')
    env = {"RFCTL_USAGE_LOG": str(log), "RFCTL_CONFIG": str(cfg)}
    run = sh("rfctl -vv generate -p down -p stub --retries 0 hi 2>&-", env=env)
    assert run.returncode == 0
    assert run.stdout == "stub: hi\n"
    assert [r["status"] for r in log_records(log)] == ["error", "ok"]
    run = sh("rfctl generate -p down --retries 0 hi 2>&-", env=env)
    assert (run.returncode, run.stdout) == (69, "")
    assert [r["status"] for r in log_records(log)] == ["error", "ok", "error"]


def test_a_closed_descriptor_is_not_handed_to_the_next_file_opened(tmp_path):
    # Otherwise the usage log would be opened as fd 2, and anything written
    # to fd 2 (by C code, a child process) would land inside it.
    code = (
        "import os, sys\nfrom rfctl.cli import main\n"
        "main(['generate', '-p', 'stub', 'hi'])\n"
        "print(os.readlink('/proc/self/fd/2'))\n"
    )
    log = tmp_path / "usage.jsonl"
    run = sh(f'{sys.executable} -c "{code}" 2>&-', env={"RFCTL_USAGE_LOG": str(log)})
    assert run.returncode == 0, run.stdout
    assert run.stdout.splitlines() == ["stub: hi", "/dev/null"]
    assert len(log_records(log)) == 1


def test_a_directory_as_the_state_path_is_refused(rfctl, server, tmp_path, isolated_home):
    state = tmp_path / "state"
    state.mkdir()
    run = rfctl("--state", str(state), "generate", "-p", "f", "--strategy", "round-robin", "hi")
    assert "is a directory" in failed_cleanly(run.code, run.err, 78, default_log(isolated_home))
    assert not (tmp_path / "state.lock").exists()
    assert server.chat() == []


def test_a_nested_table_in_headers_is_a_config_error(rfctl, write_config, isolated_home):
    with FaultServer() as srv:
        write_config(
            f'[providers.f]\nkind = "llamacpp"\nbase_url = "{srv.url}"\n'
            "[providers.f.headers]\nX-Team = { name = 'a' }\n"
        )
        run = rfctl("generate", "-p", "f", "hi")
        line = failed_cleanly(run.code, run.err, 78, default_log(isolated_home))
        assert "providers.f.headers.X-Team" in line
        assert srv.chat() == []


# ---------------------------------------------------------------- 8: answers that are not whole


def test_an_empty_answer_is_a_warning(rfctl, server, tmp_path):
    server.default = OK(text="")
    out = tmp_path / "answer.txt"
    run = rfctl("generate", "-p", "f", "-o", str(out), input="hi")
    assert run.code == 0
    assert run.err == "rfctl: warning: f: the answer is empty\n"
    assert out.read_text() == ""


def test_an_answer_cut_at_the_configured_limit_is_a_warning(rfctl, write_config):
    write_config("[defaults]\nmax_tokens = 2\n")
    run = rfctl("generate", "-p", "stub", input="one two three")
    assert run.code == 0
    assert run.out == "stub: one\n"
    assert run.err == (
        "rfctl: warning: stub: the answer was cut off at max_tokens (finish_reason length)\n"
    )


def test_a_cut_asked_for_with_max_tokens_is_no_news(rfctl):
    run = rfctl("generate", "-p", "stub", "--max-tokens", "2", input="one two three")
    assert (run.code, run.out, run.err) == (0, "stub: one\n", "")


@pytest.mark.parametrize("mode", [["-o", "OUT"], ["--stream"], []], ids=str)
@pytest.mark.parametrize("why", ["empty", "length"])
def test_require_complete_fails_an_answer_that_is_not_whole(
    rfctl, server, tmp_path, isolated_home, mode, why
):
    server.default = OK(text="" if why == "empty" else "one two three")
    out = tmp_path / "answer.txt"
    mode = [str(out) if m == "OUT" else m for m in mode]
    limit = ["--max-tokens", "2"] if why == "length" else []
    provider = "f" if why == "empty" else "stub"
    run = rfctl(
        "generate", "-p", provider, *limit, "--require-complete", *mode, input="one two three"
    )
    line = failed_cleanly(run.code, run.err, 65, default_log(isolated_home), out)
    assert "--require-complete" in line
    assert run.out == ""
    assert [r["status"] for r in log_records(default_log(isolated_home))] == ["ok"]


def test_require_complete_in_json_and_jsonl_records(rfctl):
    run = rfctl(
        "generate",
        "-p",
        "stub",
        "--max-tokens",
        "1",
        "--require-complete",
        "--format",
        "json",
        input="one two",
    )
    assert run.code == 65
    rec = json.loads(run.out)
    assert rec["ok"] is False and rec["error"]["code"] == 65
    run = rfctl(
        "generate",
        "-p",
        "stub",
        "--max-tokens",
        "2",
        "--require-complete",
        "--jsonl",
        input='"a"\n"one two three"\n',
    )
    assert run.code == 1
    assert [json.loads(x)["ok"] for x in run.out.splitlines()] == [True, False]


def test_a_whole_answer_passes_require_complete(rfctl, tmp_path):
    out = tmp_path / "answer.txt"
    run = rfctl("generate", "-p", "stub", "--require-complete", "-o", str(out), input="hi")
    assert (run.code, run.err, out.read_text()) == (0, "", "stub: hi\n")


# ---------------------------------------------------------------- 9: loops over stdin


def test_a_while_read_loop_needs_no_stdin(tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text("one\ntwo\nthree\n")
    loop = f'while read q; do rfctl generate {{}} -p stub "$q"; done < {questions}'
    # The documented rule (stdin, then the arguments) swallows the rest of the file:
    run = sh(loop.format(""))
    assert run.returncode == 0, run.stderr
    assert run.stdout == "stub: two\nthree\n\none\n"
    run = sh(loop.format("-n"))
    assert run.returncode == 0, run.stderr
    assert run.stdout == "stub: one\nstub: two\nstub: three\n"


def test_no_stdin_ignores_stdin(rfctl):
    run = rfctl("generate", "-p", "stub", "--no-stdin", "only this", input="not this")
    assert (run.code, run.out) == (0, "stub: only this\n")
    run = rfctl("generate", "-p", "stub", "-n", input="not this")
    assert run.code == 65 and "empty prompt" in run.err


def test_no_stdin_does_not_combine_with_jsonl(rfctl):
    run = rfctl("generate", "-p", "stub", "--jsonl", "-n", input='"a"\n')
    assert run.code == 2
    assert "does not combine with -n" in run.err
    assert "Traceback" not in run.err


def test_a_jsonl_line_past_max_input_fails_alone(rfctl):
    lines = ['"first"', json.dumps("x" * 3000), '"last"']
    run = rfctl("generate", "-p", "stub", "--jsonl", "--max-input", "2K", input="\n".join(lines))
    assert run.code == 1, run.err
    out = [json.loads(line) for line in run.out.splitlines()]
    assert [r["ok"] for r in out] == [True, False, True]
    assert out[1]["error"] == {"code": 65, "message": "line 2: larger than --max-input (2K)"}
