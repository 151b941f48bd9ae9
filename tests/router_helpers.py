"""Helpers for the router tests: scripted fake adapters, a fake clock, configs."""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path

from rfctl import config
from rfctl.providers.base import ProviderError, Result, Usage


class FakeTime:
    """The routing clock (rfctl.routing.clock): sleeping advances time instantly."""

    def __init__(self):
        self.offset = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds

    def install(self, monkeypatch) -> FakeTime:
        from rfctl.routing import clock

        monkeypatch.setattr(clock, "monotonic", self.monotonic)
        monkeypatch.setattr(clock, "sleep", self.sleep)
        return self


class Call:
    def __init__(self, provider, model, stream, timeouts, live):
        self.provider, self.model, self.stream = provider, model, stream
        self.timeouts, self.live = timeouts, live


class Script:
    """What each (fake) provider does on each successive call.

    An item is a string (the answer, streamed word by word to on_text), a
    ProviderError (raised), or a callable(req, timeouts, on_text) -> Result.
    With no item left a provider answers "ok from NAME".
    """

    def __init__(self, **per_provider):
        self.items = {name: list(items) for name, items in per_provider.items()}
        self.calls: list[Call] = []

    def install(self, monkeypatch) -> Script:
        import rfctl.providers

        monkeypatch.setattr(
            rfctl.providers, "make_adapter", lambda p, session=None: FakeAdapter(self, p)
        )
        return self

    def providers(self) -> list[str]:
        return [c.provider for c in self.calls]


class FakeAdapter:
    def __init__(self, script: Script, provider):
        self.script = script
        self.provider = provider
        self.kind = provider.kind

    def generate(self, req, timeouts, on_text=None) -> Result:
        name = self.provider.name
        # The ledger's relay (a Flight) always listens; live means it passes text on.
        live = on_text is not None and getattr(on_text, "relay", on_text) is not None
        self.script.calls.append(Call(name, req.model, req.stream, timeouts, live))
        items = self.script.items.get(name) or []
        item = items.pop(0) if items else f"ok from {name}"
        if isinstance(item, BaseException):
            raise item
        if callable(item):
            return item(req, timeouts, on_text)
        if on_text is not None:
            for word in item.split(" "):
                on_text(word + " ")
        return answer(item, req.model)


def answer(text: str, model: str | None, reported: bool = True) -> Result:
    usage = Usage(1000, 100, reported=True) if reported else Usage()
    return Result(
        text=text, finish_reason="stop", model=model, usage=usage, latency_ms=12.0, stream=True
    )


def partial_then(error: ProviderError, text: str):
    """A stream that writes `text`, then fails with `error`."""

    def run(req, timeouts, on_text):
        if on_text is not None:
            on_text(text)
        error.partial_text = text
        error.accepted = True
        raise error

    return run


def refused(port: int = 9) -> ProviderError:
    return ProviderError(
        "connect", f"connection refused (http://127.0.0.1:{port}/v1)", transient=True
    )


def http(status: int, message: str = "error", etype=None, code=None, headers=None) -> ProviderError:
    """The failure an adapter raises for this HTTP error response."""
    from rfctl.providers.base import classify_http

    return classify_http(status, message, etype, code, headers or {})


def load_config(text: str, tmp_path: Path) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return config.from_dict(tomllib.loads(text), path)


def make_paths(tmp_path: Path) -> config.Paths:
    return config.Paths(
        config=tmp_path / "config.toml",
        models=tmp_path / "models.yaml",
        usage_log=tmp_path / "usage.jsonl",
        state=tmp_path / "state.json",
    )


def log_records(paths: config.Paths) -> list[dict]:
    try:
        text = Path(paths.usage_log).read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def compact(rec: dict) -> str:
    """A usage-log line as rfctl writes it (compact JSON, ts first)."""
    return json.dumps(rec, separators=(",", ":")) + "\n"
