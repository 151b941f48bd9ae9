"""Prices from the genai-prices database: the derived table, lookups at a
point in time, gateways, and the cost arithmetic.

The table is derived from the real installed package (offline: every test
here runs with sockets refused), and a sweep checks rfctl's arithmetic
against genai-prices' own calc_price for every model it prices.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import warnings
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from types import SimpleNamespace

import pytest
from conftest import REPO

from rfctl import console, prices
from rfctl.prices import Price, Tier, cost, estimate

VERSION = version("genai-prices")
SOURCE = f"genai-prices {VERSION}"


def _refuse(*args, **kwargs):
    raise OSError("network access in a test")


def _no_network(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(socket.socket, "connect", _refuse)
    mp.setattr(socket.socket, "connect_ex", _refuse)
    mp.setattr(socket, "create_connection", _refuse)
    mp.setattr(socket, "getaddrinfo", _refuse)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test here may reach the network, nor see another test's table."""
    _no_network(monkeypatch)
    prices._memo.clear()
    console.reset()
    yield
    prices._memo.clear()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One derivation for the module, from the real package, offline."""
    d = tmp_path_factory.mktemp("prices-cache")
    with pytest.MonkeyPatch.context() as mp:
        _no_network(mp)
        assert prices.price_table(d)  # derives
    prices._memo.clear()
    return d


@pytest.fixture
def table(cache_dir):
    return prices.price_table(cache_dir)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------- the derived table


def test_derived_from_the_installed_package_without_network(tmp_path):
    t = prices.price_table(tmp_path)
    assert t.source == SOURCE
    assert t.priced > 1000  # thousands of (provider, model) pairs
    assert {"anthropic", "openai", "openrouter", "groq", "together"} <= set(t.providers())
    files = os.listdir(tmp_path)
    assert files == [f"prices-genai-{VERSION}.json"]  # no temp file left behind


def test_a_second_process_reads_the_cache_without_deriving(cache_dir, monkeypatch):
    import rfctl.prices_derive

    def fail(key):
        raise AssertionError("derived again")

    monkeypatch.setattr(rfctl.prices_derive, "derive", fail)
    t = prices.price_table(cache_dir)
    assert t.source == SOURCE
    assert t.lookup("openai", "gpt-4o") is not None


@pytest.mark.parametrize(
    "damage",
    [
        lambda body: body[: len(body) // 2],  # cut short
        lambda body: body.replace(b'"format":', b'"format":9', 1),  # another key
        lambda body: b"not json\n" + body,
    ],
    ids=["cut", "stale-key", "garbage"],
)
def test_a_damaged_or_stale_cache_is_derived_again(tmp_path, damage):
    assert prices.price_table(tmp_path)
    path = tmp_path / f"prices-genai-{VERSION}.json"
    good = path.read_bytes()
    path.write_bytes(damage(good))
    prices._memo.clear()
    t = prices.price_table(tmp_path)
    assert t.lookup("anthropic", "claude-haiku-4-5").input == 1.0
    assert path.read_bytes() == good


def test_an_unwritable_cache_still_gives_a_table(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    t = prices.price_table(blocker / "rfctl")  # cannot mkdir under a file
    assert t.lookup("openai", "gpt-4o").output == 10.0


def test_no_package_means_an_empty_table(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == prices.PACKAGE else real(name, *a),
    )
    t = prices.price_table(tmp_path)
    assert not t and t.source is None
    assert t.lookup("openai", "gpt-4o") is None
    assert t.provider_for_url("https://api.openai.com/v1") is None
    assert os.listdir(tmp_path) == []


def test_a_broken_database_warns_once_and_falls_back(tmp_path, monkeypatch, capsys):
    import rfctl.prices_derive

    def broken(key):
        raise ValueError("bad data")

    monkeypatch.setattr(rfctl.prices_derive, "derive", broken)
    for _ in range(2):
        assert not prices.price_table(tmp_path)
    err = capsys.readouterr().err
    assert err.count("rfctl: warning: cannot read the genai-prices database") == 1
    assert "ValueError: bad data" in err


def test_loading_imports_neither_pydantic_nor_genai_prices(cache_dir):
    code = f"""
import json, sys, time
t0 = time.perf_counter()
from rfctl.prices import price_table
t = price_table({str(cache_dir)!r})
p = t.lookup("anthropic", "claude-sonnet-4-5", None)
u = t.provider_for_url("https://openrouter.ai/api/v1")
print(json.dumps({{
    "source": t.source, "input": p.input, "url": u,
    "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "genai_prices", "yaml")),
}}))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout)
    assert got == {"source": SOURCE, "input": 3.0, "url": "openrouter", "heavy": []}


def test_loading_the_cached_table_is_fast(cache_dir):
    import time

    best = float("inf")
    for _ in range(5):
        prices._memo.clear()
        t0 = time.perf_counter()
        assert prices.price_table(cache_dir)
        best = min(best, time.perf_counter() - t0)
    assert best < 0.005, f"load took {best * 1000:.1f} ms"


# ---------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    "provider, model, model_id",
    [
        ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),  # dated snapshot
        ("anthropic", "Claude-Haiku-4-5", "claude-haiku-4-5"),  # case
        ("openai", "gpt-4o-2024-08-06", "gpt-4o"),
        ("openai", "gpt-5.2-20251211", "gpt-5.2"),  # compact date, LiteLLM spelling
        ("openai", "openai/gpt-4o", "gpt-4o"),  # gateway prefix on the vendor
        (None, "openai/gpt-4o", "gpt-4o"),  # the prefix names the provider
        (None, "google/gemini-2.5-pro", "gemini-2.5-pro"),
        (None, "claude-haiku-4-5", "claude-haiku-4-5"),  # provider guessed from the name
        ("openrouter", "anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5"),
        ("together-ai", "meta-llama/Llama-3.3-70B-Instruct-Turbo", None),
    ],
)
def test_lookup_by_model_name(table, provider, model, model_id):
    p = table.lookup(provider, model)
    assert p is not None
    assert p.source == SOURCE
    if model_id is not None:
        assert p.model_id == model_id


@pytest.mark.parametrize(
    "provider, model",
    [
        ("openai", "no-such-model-xyz"),
        ("no-such-provider", "gpt-4o"),
        ("openai", "whisper-1"),  # billed per audio hour, not per token
        ("openai", ""),
        (None, "mystery-model"),
        ("openai", "some-org/gpt-4o"),  # a prefix that names no provider stays in the name
    ],
)
def test_lookup_misses(table, provider, model):
    assert table.lookup(provider, model) is None


def test_openrouter_free_models_cost_nothing(table):
    p = table.lookup("openrouter", "meta-llama/llama-3.3-70b-instruct:free")
    assert (p.input, p.output) == (0.0, 0.0)


def test_o3_historic_price_vs_now(table):
    # OpenAI cut o3 from $10/$40 to $2/$8 on 2025-06-10.
    before = table.lookup("openai", "o3", _when("2025-06-09T23:59:59Z"))
    after = table.lookup("openai", "o3", _when("2025-06-10T00:00:00Z"))
    now = table.lookup("openai", "o3")
    assert (before.input, before.output, before.as_of, before.until) == (
        10.0,
        40.0,
        None,
        "2025-06-10",
    )
    assert (after.input, after.output, after.as_of) == (2.0, 8.0, "2025-06-10")
    assert (now.input, now.output) == (2.0, 8.0)
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert cost(usage, before) == pytest.approx(50.0)
    assert cost(usage, after) == pytest.approx(10.0)


def test_a_timestamp_is_compared_in_utc(table):
    # 01:00 on June 10 in UTC+2 is still June 9 in UTC: the old price.
    east = datetime(2025, 6, 10, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert table.lookup("openai", "o3", east).input == 10.0
    naive = datetime(2025, 6, 10, 0, 0)  # naive is UTC
    assert table.lookup("openai", "o3", naive).input == 2.0


def test_sonnet_4_6_long_context_tier_ended(table):
    # Above 200K input tokens Sonnet 4.6 cost double, until 2026-03-13.
    old = table.lookup("anthropic", "claude-sonnet-4-6", _when("2026-03-12T12:00:00Z"))
    new = table.lookup("anthropic", "claude-sonnet-4-6", _when("2026-03-13T12:00:00Z"))
    assert [t.above for t in old.tiers] == [200_000]
    assert new.tiers == ()
    usage = {"input_tokens": 300_000, "output_tokens": 0}
    assert cost(usage, old) == pytest.approx(1.8)
    assert cost(usage, new) == pytest.approx(0.9)


@pytest.mark.parametrize(
    "at, rates",
    [
        ("2026-11-30T10:00:00Z", (0.27, 1.1)),  # inside 00:30-16:30 UTC
        ("2026-11-30T16:30:00Z", (0.135, 0.55)),  # the window's end is exclusive
        ("2026-11-30T20:00:00Z", (0.135, 0.55)),
    ],
)
def test_time_of_day_prices(table, at, rates):
    p = table.lookup("deepseek", "deepseek-chat", _when(at))
    assert (p.input, p.output) == rates


def test_tiered_price_applies_to_every_token_above_the_threshold(table):
    p = table.lookup("anthropic", "claude-sonnet-4-5")
    assert p.tiers == (
        Tier(
            above=200_000,
            input=6.0,
            output=22.5,
            cache_read=0.6,
            cache_write_5m=7.5,
            cache_write_1h=12.0,
        ),
    )
    at = {"input_tokens": 200_000, "output_tokens": 1_000}
    above = {"input_tokens": 200_001, "output_tokens": 1_000}
    assert cost(at, p) == pytest.approx((200_000 * 3 + 1_000 * 15) / 1e6)  # 0.615
    assert cost(above, p) == pytest.approx((200_001 * 6 + 1_000 * 22.5) / 1e6)  # 1.222506


def test_one_hour_cache_writes_have_their_own_rate(table):
    p = table.lookup("anthropic", "claude-sonnet-4-5")
    assert (p.cache_write_5m, p.cache_write_1h) == (3.75, 6.0)
    usage = {
        "input_tokens": 10_000,
        "cached_input_tokens": 2_000,
        "cache_write_tokens": 3_000,
        "cache_write_1h_tokens": 1_000,
        "output_tokens": 500,
    }
    # 5000 uncached x 3 + 2000 reads x 0.3 + 2000 5m x 3.75 + 1000 1h x 6 + 500 x 15
    assert cost(usage, p) == pytest.approx(36_600 / 1e6)


def test_gateway_prices_come_from_the_gateway(table):
    direct = table.lookup("anthropic", "claude-sonnet-4-5")
    via = table.lookup("openrouter", "anthropic/claude-sonnet-4.5")
    assert via.provider_id == "openrouter" and direct.provider_id == "anthropic"
    assert via.context != direct.context  # OpenRouter serves the 1M window


# ---------------------------------------------------------------- gateways


@pytest.mark.parametrize(
    "url, provider",
    [
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.together.xyz/v1", "together"),
        ("https://api.fireworks.ai/inference/v1", "fireworks"),
        ("https://api.mistral.ai/v1", "mistral"),
        ("https://api.deepseek.com", "deepseek"),
        ("https://api.anthropic.com", "anthropic"),
        ("https://api.openai.com/v1", "openai"),
        ("https://API.Groq.com:443/openai/v1/", "groq"),  # case, explicit port
        ("api.deepseek.com/v1", "deepseek"),  # no scheme
        ("https://user@api.mistral.ai/v1", "mistral"),
        ("http://127.0.0.1:8080/v1", None),  # local servers are never paid
        ("http://localhost:11434", None),
        ("https://llm.example.com/v1", None),
        ("", None),
        (None, None),
    ],
)
def test_provider_for_url(table, url, provider):
    assert table.provider_for_url(url) == provider
    assert prices.provider_for_url(url, table) == provider


@pytest.mark.parametrize(
    "name, provider",
    [
        ("openrouter", "openrouter"),
        ("OpenRouter", "openrouter"),
        ("together-ai", "together"),
        ("xai", "x-ai"),
        ("bedrock", "aws"),
        ("not-a-provider", None),
        ("", None),
    ],
)
def test_explicit_price_provider(table, name, provider):
    assert table.provider_id(name) == provider


def test_the_module_level_helper_uses_the_default_cache(isolated_home):
    assert prices.provider_for_url("https://openrouter.ai/api/v1") == "openrouter"
    assert (isolated_home / ".cache" / "rfctl" / f"prices-genai-{VERSION}.json").is_file()


# ---------------------------------------------------------------- cost arithmetic


def test_no_separate_cache_prices_bill_cache_tokens_as_input():
    p = Price(input=2.0, output=8.0)
    usage = {
        "input_tokens": 1_000,
        "cached_input_tokens": 400,
        "cache_write_tokens": 100,
        "cache_write_1h_tokens": 50,
        "output_tokens": 10,
    }
    assert cost(usage, p) == pytest.approx((1_000 * 2 + 10 * 8) / 1e6)


def test_no_one_hour_price_bills_one_hour_writes_at_the_5_minute_rate():
    p = Price(input=3.0, output=15.0, cache_write_5m=3.75)
    usage = {"input_tokens": 100, "cache_write_tokens": 100, "cache_write_1h_tokens": 100}
    assert cost(usage, p) == pytest.approx(100 * 3.75 / 1e6)


def test_one_hour_writes_alone_count_as_writes():
    p = Price(input=3.0, output=15.0, cache_write_5m=3.75, cache_write_1h=6.0)
    # cache_write_tokens missing: the 1-hour writes are still writes, not input.
    assert cost({"input_tokens": 100, "cache_write_1h_tokens": 100}, p) == pytest.approx(600 / 1e6)


def test_fields_that_do_not_add_up_never_refund():
    p = Price(input=1.0, output=1.0, cache_read=0.1)
    usage = {"input_tokens": 100, "cached_input_tokens": 500, "output_tokens": 0}
    assert cost(usage, p) == pytest.approx(500 * 0.1 / 1e6)


def test_usage_may_be_an_object_and_missing_fields_are_zero():
    p = Price(input=1.0, output=2.0)
    assert cost(SimpleNamespace(input_tokens=1_000, output_tokens=None), p) == pytest.approx(0.001)
    assert cost({}, p) == 0.0


def test_per_request_fee(table):
    p = Price(input=1.0, output=1.0, per_request=0.005)
    assert cost({"input_tokens": 1_000_000}, p) == pytest.approx(1.005)
    sonar = table.lookup("perplexity", "sonar")
    assert sonar.per_request is not None and sonar.per_request > 0


def test_registry_prices_convert_with_their_source():
    from rfctl.registry import Prices

    shipped = Prices(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75, as_of="2026-07-24")
    p = prices.from_registry(shipped, "user")
    assert p == Price(
        input=3.0,
        output=15.0,
        cache_read=0.3,
        cache_write_5m=3.75,
        source="user",
        as_of="2026-07-24",
    )
    assert prices.from_registry(None) is None
    # The registry knows no 1-hour rate: 1-hour writes are billed at the 5-minute one.
    usage = {"input_tokens": 1_000, "cache_write_tokens": 1_000, "cache_write_1h_tokens": 1_000}
    assert cost(usage, p) == pytest.approx(1_000 * 3.75 / 1e6)


def test_estimate_takes_the_tier_of_the_input():
    p = Price(input=3.0, output=15.0, tiers=(Tier(above=200_000, input=6.0, output=22.5),))
    assert estimate(1_000, 1_000, p) == pytest.approx((1_000 * 3 + 1_000 * 15) / 1e6)
    assert estimate(300_000, 1_000, p) == pytest.approx((300_000 * 6 + 1_000 * 22.5) / 1e6)
    assert estimate(-5, -5, p) == 0.0


def test_cost_agrees_with_genai_prices_for_every_model(table):
    """The reference: genai-prices' own calc_price, for every model of every
    provider, at dates before, during and after price changes, with and
    without cache and above and below the long-context tiers."""
    from genai_prices import Usage, calc_price
    from genai_prices.data import providers

    whens = [
        _when("2025-01-01T12:00:00Z"),
        _when("2026-11-30T03:00:00Z"),
        _when("2026-11-30T20:00:00Z"),
        _when("2027-02-01T00:00:00Z"),
    ]
    usages = [
        {"input_tokens": 1_000, "output_tokens": 500},
        {
            "input_tokens": 300_000,
            "cached_input_tokens": 100_000,
            "cache_write_tokens": 50_000,
            "cache_write_1h_tokens": 20_000,
            "output_tokens": 4_000,
        },
    ]
    checked = 0
    wrong = []
    for prov in providers:
        for model in prov.models:
            # Only a model with a price history can differ by date.
            for when in whens if isinstance(model.prices, list) else whens[:1]:
                price = table.lookup(prov.id, model.id, when)
                for u in usages:
                    ref_usage = Usage(
                        input_tokens=u["input_tokens"],
                        output_tokens=u["output_tokens"],
                        cache_read_tokens=u.get("cached_input_tokens", 0),
                        cache_write_tokens=u.get("cache_write_tokens", 0),
                        cache_write_1h_tokens=u.get("cache_write_1h_tokens", 0),
                    )
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            ref = calc_price(
                                ref_usage,
                                model.id,
                                provider_id=prov.id,
                                genai_request_timestamp=when,
                            )
                    except LookupError:  # an id its own match clause does not accept
                        if price is not None:
                            wrong.append((prov.id, model.id, when, "found", None))
                        continue
                    expected = float(ref.total_price)
                    if price is None:
                        # Only models billed by something other than tokens.
                        if expected != 0.0:
                            wrong.append((prov.id, model.id, when, "unpriced", expected))
                        continue
                    checked += 1
                    got = cost(u, price)
                    if ref.model.id != price.model_id or got != pytest.approx(expected, rel=1e-9):
                        wrong.append((prov.id, model.id, when, got, expected))
    assert not wrong[:10]
    assert checked > 4_000
