"""Shared pieces of the --jsonl batch tests: a fault server that picks its
answer by the prompt, the batch's files, and readers for its output and log."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from faults import FaultServer


class ByPrompt(FaultServer):
    """A FaultServer whose action for each request is choose(prompt): the
    answer depends on the line, not on the order requests arrive in."""

    def __init__(self, choose, **kw):
        super().__init__(**kw)
        self.choose = choose
        self._local = threading.local()

    def _respond(self, conn, method, path, body, stopping):
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        self._local.prompt = prompt_of(payload)
        return super()._respond(conn, method, path, body, stopping)

    def _next_action(self):
        return self.choose(self._local.prompt)

    def prompts(self) -> list[str]:
        return [prompt_of(s.body) for s in self.chat()]


def prompt_of(payload: dict) -> str | None:
    msgs = payload.get("messages") or []
    return msgs[-1].get("content") if msgs else None


@dataclass
class BatchFiles:
    dir: Path
    log: Path
    state: Path

    def input(self, lines: list, name: str = "in.jsonl") -> str:
        """The batch input as text: each item a JSON value (or a raw line)."""
        return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)

    def log_records(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(x) for x in self.log.read_text().splitlines()]


def results(text: str) -> list[dict]:
    return [json.loads(x) for x in text.splitlines()]


def provider(name: str, url: str, **extra) -> str:
    lines = [f"[providers.{name}]", 'kind = "vllm"', f'base_url = "{url}"', 'model = "m"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def lines_of(n: int, prefix: str = "q") -> list[dict]:
    return [{"id": f"{prefix}{i}", "prompt": f"{prefix}{i}"} for i in range(1, n + 1)]
