"""Cost arithmetic against hand-computed values: every token billed once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rfctl.cost import cost_usd, estimate_cost, warn_unpriced
from rfctl.providers.base import Usage

try:
    from rfctl.registry import Prices
except ImportError:  # the registry lands separately; same shape

    @dataclass
    class Prices:
        input: float
        output: float
        cached_input: float | None = None
        cache_write: float | None = None
        as_of: str | None = None


SONNET = Prices(input=3.0, output=15.0, cached_input=0.30, cache_write=3.75, as_of="2026-11-01")
GPT41 = Prices(input=2.0, output=8.0, cached_input=0.50, as_of="2026-11-01")


def test_anthropic_cache_reads_and_writes_are_each_billed_once():
    # Anthropic reports input_tokens=100 (uncached only), cache_read_input_tokens=2000,
    # cache_creation_input_tokens=500, output_tokens=300; the adapter's Usage totals input.
    usage = Usage(
        input_tokens=2600,
        output_tokens=300,
        cached_input_tokens=2000,
        cache_write_tokens=500,
        reported=True,
    )
    # 100 x $3 + 2000 x $0.30 + 500 x $3.75 + 300 x $15, per million
    assert cost_usd(usage, SONNET, free=False) == pytest.approx(
        (300 + 600 + 1875 + 4500) / 1e6
    )  # $0.007275


def test_openai_cached_prompt_tokens_are_part_of_the_prompt_not_extra():
    # prompt_tokens=2006 with prompt_tokens_details.cached_tokens=1920;
    # completion_tokens=300 of which reasoning_tokens=192 (already in the 300).
    usage = Usage(
        input_tokens=2006,
        output_tokens=300,
        cached_input_tokens=1920,
        reasoning_tokens=192,
        reported=True,
    )
    # 86 x $2 + 1920 x $0.50 + 300 x $8, per million
    assert cost_usd(usage, GPT41, free=False) == pytest.approx((172 + 960 + 2400) / 1e6)


def test_plain_usage_without_any_cache():
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, reported=True)
    assert cost_usd(usage, GPT41, free=False) == pytest.approx(2.0 + 4.0)


def test_cache_buckets_fall_back_to_the_input_price_when_not_listed():
    prices = Prices(input=1.0, output=2.0)
    usage = Usage(
        input_tokens=1000, output_tokens=0, cached_input_tokens=400, cache_write_tokens=100
    )
    assert cost_usd(usage, prices, free=False) == pytest.approx(1000 * 1.0 / 1e6)


def test_local_kinds_are_free_and_unknown_prices_are_unknown_not_zero():
    usage = Usage(input_tokens=5000, output_tokens=5000)
    assert cost_usd(usage, None, free=True) == 0.0
    assert cost_usd(usage, SONNET, free=True) == 0.0
    assert cost_usd(usage, None, free=False) is None
    assert cost_usd(Usage(), SONNET, free=False) is None  # no token counts at all


def test_fields_that_do_not_add_up_never_make_a_negative_bucket():
    usage = Usage(input_tokens=10, output_tokens=0, cached_input_tokens=50)
    assert cost_usd(usage, SONNET, free=False) == pytest.approx(50 * 0.30 / 1e6)


def test_estimate_is_the_worst_case_full_input_price_and_every_output_token():
    assert estimate_cost(2006, 1024, GPT41, free=False) == pytest.approx(
        (2006 * 2.0 + 1024 * 8.0) / 1e6
    )
    assert estimate_cost(2006, 1024, None, free=False) is None
    assert estimate_cost(2006, 1024, None, free=True) == 0.0


def test_an_unpriced_model_warns_once(capsys):
    from rfctl import console

    console.reset()  # once per process: forget earlier tests' warnings
    warn_unpriced("openai", "ft:gpt-4.1-mini:acme::x1")
    warn_unpriced("openai", "ft:gpt-4.1-mini:acme::x1")
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no price known for ft:gpt-4.1-mini:acme::x1" in err


def test_anthropic_one_hour_cache_writes_are_billed_at_their_own_rate():
    from rfctl.prices import Price
    from rfctl.providers.anthropic import map_usage

    usage = map_usage(
        {
            "input_tokens": 100,
            "cache_creation_input_tokens": 500,
            "cache_read_input_tokens": 0,
            "output_tokens": 10,
            "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 300},
        }
    )
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (
        600,
        500,
        300,
    )
    price = Price(input=3.0, output=15.0, cache_read=0.3, cache_write_5m=3.75, cache_write_1h=6.0)
    # 100 uncached x $3 + 200 5-minute writes x $3.75 + 300 1-hour writes x $6 + 10 x $15
    assert cost_usd(usage, price, free=False) == pytest.approx((300 + 750 + 1800 + 150) / 1e6)
    assert cost_usd(usage, price, free=True) == 0.0
