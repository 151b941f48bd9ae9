"""Running rfctl at the process boundary, and what a failure must look like.

`sh` runs a shell line in which `rfctl` means this checkout's rfctl: for what
only a real child process shows (closed descriptors, a locale, a memory
limit, pipes, `while read` loops). `failed_cleanly` states the contract every
failure keeps: the exit code, one `rfctl: error:` line, no traceback, no
output file, and a usage log whose every line parses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def sh(
    cmd: str,
    *,
    env: dict | None = None,
    input: bytes | None = None,
    preexec_fn=None,
    cwd=REPO,
    text: bool = True,
) -> subprocess.CompletedProcess:
    """Run a shell line with `rfctl ` meaning this checkout's rfctl."""
    return subprocess.run(
        ["bash", "-c", cmd.replace("rfctl ", f"{sys.executable} -m rfctl ")],
        capture_output=True,
        text=text,
        cwd=cwd,
        timeout=120,
        input=input,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        preexec_fn=preexec_fn,
    )


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rfctl: error:"), err
    return lines[0]


def log_records(path: Path) -> list[dict]:
    """Every record of the usage log at PATH; each line must parse."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines()]


def default_log(home: Path) -> Path:
    return home / ".local" / "state" / "rfctl" / "usage.jsonl"


def failed_cleanly(code: int, err: str, want: int, log: Path, output: Path | None = None) -> str:
    """The failure contract; returns the error line."""
    assert code == want, err
    assert "Traceback" not in err, err
    line = one_error_line(err)
    if output is not None:
        assert not output.exists(), f"{output} was written"
        leftovers = [
            p.name for p in output.parent.iterdir() if p.name.startswith(f".{output.name}.")
        ]
        assert leftovers == [], leftovers
    log_records(log)
    return line
