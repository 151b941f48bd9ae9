"""Tables and pictures in a real terminal: tmux panes 80 and 120 columns
wide. capture-pane -J joins the lines the terminal wrapped, so a line wider
than the pane shows up as one long line, as a person would see the mess."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time

import pytest
from conftest import REPO, require_tool
from table_helpers import LONG_PROVIDERS, widest
from usage_helpers import make_records, write_log

DONE = "__rfctl_done__"


def in_tmux(tmp_path, args: list[str], width: int, env: dict) -> tuple[str, str]:
    """Run `rfctl ARGS` in a detached tmux pane of width columns; return the
    whole pane (history included) with wrapped lines joined, and the exit code."""
    tmux = require_tool("tmux")
    sock = str(tmp_path / "tmux.sock")
    command = shlex.join(
        ["env", "-u", "COLUMNS", "-u", "LINES", *(f"{k}={v}" for k, v in env.items())]
        + [sys.executable, "-m", "rfctl", *args]
    )
    script = f"{command}; echo {DONE} $?; sleep 120"
    base = [tmux, "-S", sock, "-f", "/dev/null"]
    subprocess.run(
        [*base, "new-session", "-d", "-x", str(width), "-y", "50", "-c", str(REPO), script],
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            pane = subprocess.run(
                [*base, "capture-pane", "-p", "-J", "-S", "-", "-E", "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if f"{DONE} " in pane:
                break
            assert time.monotonic() < deadline, pane
            time.sleep(0.1)
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True)
    out, _, code = pane.partition(DONE + " ")
    return out, code.split()[0]


@pytest.fixture
def files(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(LONG_PROVIDERS)
    log = write_log(tmp_path / "usage.jsonl", make_records(1500, seed=3))
    return {"RFCTL_CONFIG": str(config)}, str(log)


COMMANDS = {
    "providers": lambda log: ["providers", "--no-check"],
    "models": lambda log: ["models", "--no-check"],
    "usage": lambda log: ["usage", "--by", "provider,model", log],
    "usage-by-day": lambda log: ["usage", "--by", "day", log],
    "usage-latency": lambda log: ["usage", "--latency", log],
}


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", COMMANDS)
def test_no_line_is_wider_than_the_terminal(tmp_path, files, name, width):
    env, log = files
    # In colour, as a terminal is (capture-pane leaves the escapes out).
    out, code = in_tmux(tmp_path, COMMANDS[name](log), width, {**env, "NO_COLOR": ""})
    assert code == "0", out
    assert out.strip(), "nothing was drawn"
    assert "\t" not in out  # a table, not TSV
    assert widest(out) <= width, out


def test_wide_runs_past_the_terminal_on_purpose(tmp_path, files):
    env, _ = files
    out, code = in_tmux(tmp_path, ["providers", "--no-check", "--wide"], 80, env)
    assert code == "0", out
    assert widest(out) > 80  # every column in full: `less -S` territory
