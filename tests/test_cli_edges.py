"""Odd input and odd surroundings: each gets one error line and an honest exit code."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from conftest import REPO
from io_helpers import one_error_line, sh


def test_a_usage_error_is_one_line(rfctl):
    run = rfctl("generate", "--temperature", "warm", input="x")
    assert run.code == 2
    assert "--temperature" in one_error_line(run.err)


@pytest.mark.parametrize(
    "flags",
    [["--timeout", "nan"], ["--deadline", "-1"], ["--temperature", "-0.5"], ["--max-cost", "inf"]],
)
def test_nonsense_numbers_on_the_command_line_are_usage_errors(rfctl, flags):
    run = rfctl("generate", "-p", "stub", *flags, input="x")
    assert run.code == 2, run.err
    one_error_line(run.err)


def test_a_bad_default_in_the_config_is_78_naming_the_key(rfctl, write_config):
    write_config("[defaults]\ntimeout = -5\n")
    run = rfctl("generate", "-p", "stub", input="x")
    assert run.code == 78
    assert "defaults.timeout" in one_error_line(run.err)


def test_closed_stdout_is_an_error_not_a_traceback():
    run = sh("rfctl generate -p stub hi >&-")
    assert run.returncode == 73
    one_error_line(run.stderr)


def test_full_disk_on_stdout_is_an_error_not_a_traceback():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    run = sh("rfctl generate -p stub hi > /dev/full")
    assert run.returncode == 73
    assert "No space left" in one_error_line(run.stderr)


def test_closed_stdin_reads_as_no_stdin():
    run = sh("rfctl generate -p stub hello <&-")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "stub: hello\n"


def test_prompt_arguments_that_are_not_utf8_are_bad_input():
    run = sh("rfctl generate -p stub $'\\xff\\xfe' </dev/null")
    assert run.returncode == 65
    assert "UTF-8" in one_error_line(run.stderr)


def test_json_output_goes_to_the_output_file(rfctl, tmp_path):
    target = tmp_path / "a.json"
    run = rfctl("generate", "-p", "stub", "--format", "json", "-o", str(target), input="hi")
    assert run.code == 0, run.err
    assert run.out == ""
    assert json.loads(target.read_text())["ok"] is True


def test_output_through_a_symlink_keeps_the_link_and_the_mode(rfctl, tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    os.chmod(real, 0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    run = rfctl("generate", "-p", "stub", "-o", str(link), input="hi")
    assert run.code == 0, run.err
    assert link.is_symlink()
    assert real.read_text() == "stub: hi\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_output_to_a_non_regular_file_is_written_in_place():
    run = sh("rfctl generate -p stub -o /dev/stdout hi | cat")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "stub: hi\n"
    assert os.path.exists("/dev/stdout")


def test_dry_run_with_an_unwritable_output_still_plans(rfctl, tmp_path):
    run = rfctl("generate", "-p", "stub", "--dry-run", "-o", str(tmp_path / "no" / "x"), input="hi")
    assert run.code == 0, run.err


def test_jsonl_checks_its_output_file_before_sending(rfctl, tmp_path):
    run = rfctl(
        "generate", "-p", "stub", "--jsonl", "-o", str(tmp_path / "no" / "x"), input='"a"\n'
    )
    assert run.code == 73
    one_error_line(run.err)


def test_a_failed_json_call_also_says_why_on_stderr(rfctl, write_config):
    write_config('[providers.down]\nkind = "llamacpp"\nbase_url = "http://127.0.0.1:9/v1"\n')
    run = rfctl("generate", "-p", "down", "--format", "json", "--retries", "0", input="x")
    assert run.code == 69
    assert json.loads(run.out)["ok"] is False
    one_error_line(run.err)


def test_a_damaged_state_file_is_ignored(rfctl, tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"cooldowns": {"stub": {"until": 1e12, "since": "x"}}, "rr": 5')
    run = rfctl("generate", "-p", "stub", input="hi", env={"RFCTL_STATE": str(state)})
    assert run.code == 0, run.err
    state.write_text('{"cooldowns": {"stub": {"until": 1e12, "since": "x"}}}')
    run = rfctl("generate", "-p", "stub", input="hi", env={"RFCTL_STATE": str(state)})
    assert run.code == 0, run.err


def test_every_kind_of_bad_jsonl_line_fails_alone(rfctl):
    bad = [
        '{"prompt": "x", "max_tokens": 1e400}',
        '{"prompt": "x", "stop": 5}',
        '{"prompt": "x", "model": 5}',
        '{"prompt": "x", "provider": ["a"]}',
        '{"prompt": "x", "temperature": "hot"}',
        '{"prompt": "x", "max_tokens": 0}',
        '{"prompt": "x", "max_tokens": -5}',
        '{"prompt": "\\ud800 x"}',
        '{"prompt": "x", "provider": "nosuch"}',
        "[1, 2]",
        '{"prompt": ""}',
    ]
    lines = ['"first"', *bad, '"last"']
    run = rfctl("generate", "-p", "stub", "--jsonl", "-j", "3", input="\n".join(lines) + "\n")
    assert run.code == 1, run.err
    assert "Traceback" not in run.err
    out = [json.loads(line) for line in run.out.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["ok"] and out[-1]["ok"]
    for rec in out[1:-1]:
        assert rec["ok"] is False, rec
        assert rec["error"]["code"] in (65, 78), rec
    assert [r["id"] for r in out] == [str(i) for i in range(1, len(lines) + 1)]


def test_jsonl_line_that_is_not_utf8_fails_alone(rfctl):
    # The bytes 0xff 0xfe on stdin (the runner encodes input with surrogateescape).
    run = rfctl("generate", "-p", "stub", "--jsonl", input='"ok"\n"\udcff\udcfe"\n')
    assert run.code == 1
    out = [json.loads(line) for line in run.out.splitlines()]
    assert [r["ok"] for r in out] == [True, False]
    assert out[1]["error"]["code"] == 65


# ---------------------------------------------------------------- start-up imports


def modules_after(argv: list[str], watch: tuple[str, ...]) -> list[str]:
    """Which of `watch` a fresh process has imported after `rfctl ARGV`."""
    code = (
        "import sys\nfrom rfctl.cli import main\n"
        f"main({argv!r})\n"
        f"print(sorted(m for m in {watch!r} if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    return json.loads(proc.stderr.strip().splitlines()[-1].replace("'", '"'))


def test_version_builds_no_parser_and_imports_nothing_heavy():
    watch = ("requests", "argparse", "rfctl.commands", "rfctl.config", "rich", "yaml")
    assert modules_after(["--version"], watch) == []


def test_only_the_completions_command_imports_the_generator():
    watch = ("rfctl.docs", "rich", "yaml", "tiktoken")
    assert modules_after(["generate", "-p", "stub", "hi"], watch) == []
    assert modules_after(["providers", "--no-check"], watch) == []
    assert modules_after(["completions", "bash"], ("rfctl.docs",)) == ["rfctl.docs"]
