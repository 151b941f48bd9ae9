"""Helpers for the books tests: a priced model, configs naming fault servers,
hosts (each its own state file, sharing a log or not), running many real
processes at once, and reading what the log holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

# $10,000 per million output tokens: the 10 words the server answers (its
# completion_tokens) cost $0.10, and so does max_tokens = 10 in the worst case.
DIME_MODELS = """\
models:
  gpt-dime:
    vendor: openai
    context: 100000
    max_output: 100
    prices: {input: 0, output: 10000}
"""
DIME_TEXT = "one two three four five six seven eight nine ten"


def config_text(servers: dict, *, model="gpt-dime", budget=None, state=None, defaults=None) -> str:
    """A config naming each {name: FaultServer or URL} as an openai provider."""
    lines = ["[defaults]"]
    for k, v in (defaults or {}).items():
        lines.append(f"{k} = {json.dumps(v)}")
    if budget is not None:
        lines += ["[budget]", f"daily_usd = {budget}"]
    if state:
        lines.append("[state]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in state.items()]
    for name, srv in servers.items():
        url = srv if isinstance(srv, str) else srv.url
        lines += [f"[providers.{name}]", 'kind = "openai"', f'base_url = "{url}"']
        lines.append(f'model = "{model}"')
    return "\n".join(lines) + "\n"


class Host:
    """One simulated host: its own state file (and log, unless shared)."""

    def __init__(self, root: Path, name: str, config: Path, models: Path, log: Path | None = None):
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = log or self.dir / "usage.jsonl"
        self.state = self.dir / "state.json"
        self.env = {
            "RFCTL_CONFIG": str(config),
            "RFCTL_MODELS": str(models),
            "RFCTL_USAGE_LOG": str(self.log),
            "RFCTL_STATE": str(self.state),
        }

    def records(self) -> list[dict]:
        return read_log(self.log)


def write_world(tmp_path: Path, text: str) -> tuple[Path, Path]:
    config, models = tmp_path / "config.toml", tmp_path / "models.yaml"
    config.write_text(text)
    models.write_text(DIME_MODELS)
    return config, models


def read_log(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]


def spawn(args: list[str], env: dict, stdin=subprocess.DEVNULL, **kw) -> subprocess.Popen:
    """`rfctl ARGS` as a child process (not waited for)."""
    return subprocess.Popen(
        [sys.executable, "-m", "rfctl", *args],
        env={**os.environ, **env},
        cwd=REPO,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def run_all(jobs: list[tuple[list[str], dict]], timeout: float = 120) -> list[tuple[int, str, str]]:
    """Start every (args, env) at once; (exit code, stdout, stderr) of each."""
    procs = [spawn(args, env) for args, env in jobs]
    out = []
    for p in procs:
        o, e = p.communicate(timeout=timeout)
        out.append((p.returncode, o, e))
    return out


def sent(srv) -> int:
    """Chat requests the server received."""
    return len(srv.chat())
