"""Helpers for the generate-side tests of templates, conversations and the
response cache: the files rfctl writes in the test's home. Their fixtures
(a counting local server, a config pointing at it) are in reuse_fixtures.py."""

from __future__ import annotations

import json
import os
from pathlib import Path


def state_dir() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "rfctl"


def usage_records() -> list[dict]:
    path = state_dir() / "usage.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def cache_files() -> list[Path]:
    d = Path(os.environ["XDG_CACHE_HOME"]) / "rfctl" / "responses"
    return sorted(d.glob("*.json")) if d.exists() else []


def template_dir() -> Path:
    d = Path(os.environ["XDG_CONFIG_HOME"]) / "rfctl" / "templates"
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_template(name: str, text: str) -> Path:
    path = template_dir() / f"{name}.yaml"
    path.write_text(text)
    return path
