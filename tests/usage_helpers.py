"""Generated usage logs and a straightforward reference aggregation, for the
usage-log tests."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rfctl.usagelog import UsageRecord, format_ts

MODELS = [
    ("claude", "anthropic", "claude-sonnet-4-5", (3.0, 15.0)),
    ("claude", "anthropic", "claude-haiku-4-5", (1.0, 5.0)),
    ("openai", "openai", "gpt-4.1", (2.0, 8.0)),
    ("openai", "openai", "ft:custom", None),  # unpriced
    ("ollama", "ollama", "qwen3-coder", 0),
    ('we"ird\\prov', "openai-compatible", "line\nbreak", 0),  # Prometheus escaping
]


def make_records(
    n: int, seed: int = 1, start: datetime | None = None, step: timedelta = timedelta(minutes=7)
) -> list[UsageRecord]:
    rng = random.Random(seed)
    t = start or datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        provider, kind, model, price = rng.choice(MODELS)
        t += step
        ok = rng.random() > 0.15
        inp = rng.randint(1, 5000)
        out_tokens = rng.randint(1, 900) if ok else None
        if price is None:
            cost = None
        elif price == 0 or not ok:
            cost = 0.0
        else:
            cost = (inp * price[0] + out_tokens * price[1]) / 1e6
        out.append(
            UsageRecord(
                ts=format_ts(t),
                request_id=f"r{i // 2}",
                provider=provider,
                kind=kind,
                model=model,
                status="ok" if ok else "error",
                error=None if ok else "http 529 overloaded_error: Overloaded",
                http_status=200 if ok else 529,
                attempt=rng.choice((1, 1, 1, 2)),
                input_tokens=inp if ok else None,
                output_tokens=out_tokens,
                cached_input_tokens=rng.randint(0, inp) if ok and kind == "anthropic" else None,
                tokens_source="provider" if ok else None,
                latency_ms=rng.lognormvariate(7, 1),
                cost_usd=cost,
                stream=rng.random() < 0.3,
                finish_reason="stop" if ok else "error",
            )
        )
    return out


def write_log(path: Path, records: list[UsageRecord]) -> Path:
    path.write_text("".join(r.to_json() + "\n" for r in records))
    return path


def nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[max(1, math.ceil(q * len(values))) - 1]


def reference(records: list[dict], by: list[str]) -> dict[tuple, dict]:
    """The obvious computation: every record in memory, exact percentiles."""
    keyf = {
        "provider": lambda r: r["provider"],
        "model": lambda r: r.get("model"),
        "status": lambda r: r["status"],
        "day": lambda r: r["ts"][:10],
        "hour": lambda r: r["ts"][:13] + ":00Z",
    }
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(keyf[f](r) for f in by), []).append(r)
    out = {}
    for key, rs in groups.items():
        lat = [r["latency_ms"] for r in rs if r["status"] == "ok" or "status" in by]
        out[key] = {
            "ok": sum(r["status"] == "ok" for r in rs),
            "errors": sum(r["status"] != "ok" for r in rs),
            "input_tokens": sum(r.get("input_tokens") or 0 for r in rs),
            "cached_input_tokens": sum(r.get("cached_input_tokens") or 0 for r in rs),
            "output_tokens": sum(r.get("output_tokens") or 0 for r in rs),
            "cost_usd": sum(r["cost_usd"] or 0 for r in rs),
            "unpriced": sum(r["cost_usd"] is None for r in rs),
            "p50_ms": nearest_rank(lat, 0.5),
            "p95_ms": nearest_rank(lat, 0.95),
        }
    return out


def as_dicts(records: list[UsageRecord]) -> list[dict]:
    return [json.loads(r.to_json()) for r in records]
