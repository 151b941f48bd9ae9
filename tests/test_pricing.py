"""Which price a call pays, end to end: the user's models.yaml over the
genai-prices database over rfctl's own YAML; a gateway recognised by its
URL or named by price_provider; the usage record's cost_usd and
price_source; `rfctl usage --reprice`; and the start-up imports (the
database's package and pydantic stay off every `generate`).

Cloud providers here are the fault server of faults.py on 127.0.0.1 with a
cloud kind (or price_provider), so the wire is real and the price is the
database's."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from types import SimpleNamespace

import pytest
from conftest import REPO
from faults import FaultServer

from rfctl import config, console, prices
from rfctl.cost import price_for, price_provider

SOURCE = f"genai-prices {version('genai-prices')}"


@pytest.fixture(autouse=True)
def fresh():
    console.reset()
    yield
    console.reset()


@pytest.fixture
def server():
    with FaultServer() as srv:
        yield srv


def records() -> list[dict]:
    path = config.resolve_paths().usage_log
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def table_cost(rec: dict, pid: str, model: str, when=None) -> float:
    return prices.cost(rec, prices.price_table().lookup(pid, model, when))


def test_a_cloud_call_is_priced_from_the_database(rfctl, write_config, server, monkeypatch):
    monkeypatch.setenv("TEST_KEY", "sk-test")
    write_config(
        f'[providers.oa]\nkind = "openai"\nbase_url = "{server.url}"\n'
        'api_key_env = "TEST_KEY"\nmodel = "gpt-4o-mini"\n'
    )
    run = rfctl("generate", "hi there")
    assert run.code == 0 and run.err == ""
    (rec,) = records()
    assert rec["price_source"] == SOURCE and rec["input_tokens"] and rec["output_tokens"]
    assert rec["cost_usd"] == pytest.approx(table_cost(rec, "openai", "gpt-4o-mini"))
    assert rec["cost_usd"] == pytest.approx(
        (rec["input_tokens"] * 0.15 + rec["output_tokens"] * 0.6) / 1e6
    )


def test_the_users_models_yaml_wins_over_the_database(rfctl, write_config, server, monkeypatch):
    monkeypatch.setenv("TEST_KEY", "sk-test")
    models = config.resolve_paths().models
    models.parent.mkdir(parents=True, exist_ok=True)
    models.write_text("models:\n  gpt-4o-mini:\n    prices: {input: 100.0, output: 1000.0}\n")
    write_config(
        f'[providers.oa]\nkind = "openai"\nbase_url = "{server.url}"\n'
        'api_key_env = "TEST_KEY"\nmodel = "gpt-4o-mini"\n'
    )
    assert rfctl("generate", "hi").code == 0
    (rec,) = records()
    assert rec["price_source"] == "user"
    assert rec["cost_usd"] == pytest.approx(
        (rec["input_tokens"] * 100 + rec["output_tokens"] * 1000) / 1e6
    )


def test_a_model_the_database_lacks_keeps_rfctls_own_price(
    rfctl, write_config, server, monkeypatch
):
    monkeypatch.setenv("TEST_KEY", "sk-test")
    write_config(
        f'[providers.oa]\nkind = "openai"\nbase_url = "{server.url}"\n'
        'api_key_env = "TEST_KEY"\nmodel = "claude-mythos-5"\n'
    )
    assert rfctl("generate", "hi").code == 0
    (rec,) = records()
    assert rec["price_source"] == "rfctl" and rec["cost_usd"] > 0


def test_a_gateway_named_by_price_provider_is_priced(rfctl, write_config, server):
    # A loopback openai-compatible server is free unless told otherwise; this
    # one stands for OpenRouter.
    write_config(
        f'[providers.gw]\nkind = "openai-compatible"\nbase_url = "{server.url}"\n'
        'free = false\nprice_provider = "openrouter"\nmodel = "openai/gpt-4o-mini"\n'
    )
    run = rfctl("generate", "hi")
    assert run.code == 0 and run.err == ""
    (rec,) = records()
    assert rec["price_source"] == SOURCE
    assert rec["cost_usd"] == pytest.approx(table_cost(rec, "openrouter", "openai/gpt-4o-mini"))


def test_a_paid_server_nobody_can_price_is_null_with_one_warning(rfctl, write_config, server):
    write_config(
        f'[providers.gw]\nkind = "openai-compatible"\nbase_url = "{server.url}"\n'
        'free = false\nmodel = "house-model"\n'
    )
    run = rfctl("generate", "hi")
    assert run.code == 0
    assert run.err.count("rfctl: warning: no price known for house-model on gw") == 1
    (rec,) = records()
    assert rec["cost_usd"] is None and "price_source" not in rec


def test_an_unknown_price_provider_is_a_config_error(rfctl, write_config):
    write_config(
        '[providers.gw]\nkind = "openai-compatible"\nbase_url = "https://llm.example.com/v1"\n'
        'price_provider = "no-such-gateway"\n'
    )
    run = rfctl("generate", "hi")
    assert run.code == 78 and run.out == ""
    (line,) = run.err.splitlines()
    assert line.startswith("rfctl: error: ") and "price_provider: 'no-such-gateway'" in line
    assert "openrouter" in line  # the known ones are named


@pytest.mark.parametrize(
    ("provider", "pid"),
    [
        (SimpleNamespace(kind="anthropic", base_url="https://api.anthropic.com"), "anthropic"),
        (SimpleNamespace(kind="openai", base_url="https://api.openai.com/v1"), "openai"),
        (
            SimpleNamespace(kind="openai-compatible", base_url="https://api.groq.com/openai/v1"),
            "groq",
        ),
        (
            SimpleNamespace(kind="openai-compatible", base_url="https://openrouter.ai/api/v1"),
            "openrouter",
        ),
        (SimpleNamespace(kind="openai-compatible", base_url="http://127.0.0.1:8080/v1"), None),
        (
            SimpleNamespace(
                kind="openai-compatible", base_url="https://x.example", price_provider="groq"
            ),
            "groq",
        ),
        (SimpleNamespace(kind="vllm", base_url="http://10.0.0.5:8000/v1"), None),
    ],
)
def test_the_provider_a_call_is_priced_as(provider, pid):
    assert price_provider(provider) == pid


def test_a_cloud_price_on_a_gateway_comes_from_the_gateways_own_table():
    groq = SimpleNamespace(kind="openai-compatible", base_url="https://api.groq.com/openai/v1")
    p = price_for(groq, None, "llama-3.3-70b-versatile")
    assert p is not None and p.provider_id == "groq" and p.source == SOURCE


# ---------------------------------------------------------------- --reprice

# A model whose price changed on 2026-11-02 (baseten, in the pinned database).
GW = "baseten"
MODEL = "reflection/Beam-1.0"
BEFORE, AFTER = "2026-10-20T12:00:00.000Z", "2026-11-20T12:00:00.000Z"


def _rec(ts, provider="gw", status="ok", cost=None, model=MODEL, **more) -> str:
    rec = {
        "ts": ts,
        "request_id": "r",
        "provider": provider,
        "kind": "openai-compatible",
        "model": model,
        "status": status,
        "attempt": 1,
        "input_tokens": 1_000_000,
        "output_tokens": 100_000,
        "latency_ms": 10.0,
        "cost_usd": cost,
        **more,
    }
    return json.dumps(rec) + "\n"


def test_reprice_prices_each_record_at_its_own_time_and_leaves_the_log_alone(
    rfctl, write_config, tmp_path
):
    write_config(
        '[providers.gw]\nkind = "openai-compatible"\nbase_url = "https://llm.example.com/v1"\n'
        f'price_provider = "{GW}"\n'
        '[providers.home]\nkind = "ollama"\n'
    )
    log = tmp_path / "usage.jsonl"
    text = (
        _rec(BEFORE)  # written when nobody could price it
        + _rec(AFTER, cost=99.0)  # priced wrongly at the time
        + _rec(AFTER, status="error", cost=0.0)  # failures cost nothing
        + _rec(AFTER, cost=0.0, cached=True)  # an answer from the cache cost nothing
        + _rec(AFTER, provider="home", model="llama3.2", cost=None)  # local: free
    )
    log.write_text(text)
    table = prices.price_table()
    old = table.lookup(GW, MODEL, datetime(2026, 10, 20, 12, tzinfo=UTC))
    new = table.lookup(GW, MODEL, datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert (old.input, old.output) != (new.input, new.output)  # the data this test relies on
    tokens = {"input_tokens": 1_000_000, "output_tokens": 100_000}

    plain = json.loads(rfctl("usage", str(log), "--format", "json").out)["total"]
    assert (plain["cost_usd"], plain["unpriced"]) == (99.0, 2)
    run = rfctl("usage", str(log), "--reprice", "--format", "json", "--by", "day")
    assert run.code == 0, run.err
    days = {g["day"]: g for g in json.loads(run.out)["groups"]}
    assert days["2026-10-20"]["cost_usd"] == pytest.approx(prices.cost(tokens, old))
    assert days["2026-11-20"]["cost_usd"] == pytest.approx(prices.cost(tokens, new))
    assert days["2026-11-20"]["unpriced"] == 0
    assert log.read_text() == text  # only the output changed


def test_reprice_of_a_provider_no_longer_configured_uses_the_registry(rfctl, tmp_path):
    log = tmp_path / "usage.jsonl"
    log.write_text(_rec(AFTER, provider="gone", model="claude-mythos-5"))
    out = json.loads(rfctl("usage", str(log), "--reprice", "--format", "json").out)["total"]
    assert out["unpriced"] == 0 and out["cost_usd"] > 0


# ---------------------------------------------------------------- start-up imports


def _heavy_after(argv: list[str]) -> list[str]:
    code = (
        "import sys\nfrom rfctl.cli import main\n"
        f"code = main({argv!r})\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'genai_prices', 'pydantic', 'yaml'}\n"
        "print(code, sorted(heavy), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input="hi",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    return proc.stderr.strip().splitlines()[-1]


def test_generate_never_imports_the_database_package(write_config, server, monkeypatch):
    monkeypatch.setenv("TEST_KEY", "sk-test")
    write_config(
        f'[providers.oa]\nkind = "openai"\nbase_url = "{server.url}"\n'
        'api_key_env = "TEST_KEY"\nmodel = "gpt-4o-mini"\n'
        f'[providers.home]\nkind = "llamacpp"\nbase_url = "{server.url}"\n'
    )
    prices._memo.clear()
    assert prices.price_table()  # derived once, as the first cloud call after an install does
    prices._memo.clear()
    # The registry cache is warm after one run, as on any machine after the first.
    assert _heavy_after(["generate", "-p", "oa"]).startswith("0 ")
    assert _heavy_after(["generate", "-p", "oa"]) == "0 []"  # a cloud call reads the JSON
    assert _heavy_after(["generate", "-p", "home"]) == "0 []"  # a local one not even that
    assert _heavy_after(["generate", "-p", "stub"]) == "0 []"
    (first, *_rest) = records()
    assert first["price_source"] == SOURCE
