"""The user's models.yaml over arbitrary content: the registry loads (the user's
entries merged over the shipped ones) or fails with a ConfigError naming the
file, never another exception."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from fuzz_helpers import fuzz, utf8_text
from hypothesis import given
from hypothesis import strategies as st

from rfctl import registry
from rfctl.config import CAPABILITIES
from rfctl.errors import ConfigError

FIELDS = [
    "vendor",
    "family",
    "aliases",
    "context",
    "max_output",
    "capabilities",
    "prices",
    "free",
    "verified",
    "note",
]
PRICE_FIELDS = ["input", "output", "cached_input", "cache_write", "as_of"]

VALID = """\
models:
  my-local-model:
    vendor: local
    context: 8192
    capabilities: [chat, code]
    aliases: [mine]
  gpt-4o-mini:
    prices: {input: 0.15, output: 0.6, as_of: 2026-07-24}
"""


def load_text(text: bytes):
    """registry.load with `text` as the user file: a Registry or the ConfigError."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "models.yaml"
        path.write_bytes(text)
        try:
            return registry.load(SimpleNamespace(models=path))
        except ConfigError as e:  # the one documented failure
            assert str(path) in e.message
            return e


words = utf8_text(8)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.integers(-(10**400), 10**400),
    st.floats(),
    words,
    st.sampled_from(list(registry.VENDORS) + list(CAPABILITIES)),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=6,
)
prices = st.dictionaries(st.sampled_from(PRICE_FIELDS) | words, values, max_size=5)
fields = st.dictionaries(st.sampled_from(FIELDS) | words, values | prices, max_size=6)
documents = st.one_of(
    values,
    st.fixed_dictionaries(
        {
            "models": st.dictionaries(
                words | st.sampled_from(["gpt-4o-mini", "GPT-4o-MINI"]), fields | values, max_size=3
            )
        }
    ),
)


@fuzz(40)
@given(documents)
def test_any_yaml_document_loads_or_fails_with_a_config_error(doc):
    load_text(yaml.safe_dump(doc, allow_unicode=True).encode())


@fuzz(40)
@given(st.binary(max_size=200) | utf8_text(200).map(str.encode))
def test_any_bytes_load_or_fail_with_a_config_error(data):
    load_text(data)


@st.composite
def mutated(draw):
    text = bytearray(VALID.encode())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        junk = draw(
            st.sampled_from(
                [
                    b":",
                    b"- ",
                    b"[",
                    b"]",
                    b"{",
                    b"&a ",
                    b"*a",
                    b"!!",
                    b"\n  ",
                    b"\t",
                    b"'",
                    b"2026-02-30",
                ]
            )
        )
        if draw(st.booleans()):
            text[at:at] = junk
        else:
            del text[at : at + draw(st.integers(1, 4))]
    return bytes(text)


@fuzz(40)
@given(mutated())
def test_a_damaged_registry_loads_or_fails_with_a_config_error(data):
    load_text(data)


def test_the_valid_registry_loads_and_merges():
    reg = load_text(VALID.encode())
    assert not isinstance(reg, ConfigError)
    assert reg.resolve("mine").id == "my-local-model"
    assert reg.get("gpt-4o-mini").prices.input == 0.15


@pytest.mark.parametrize(
    "text",
    [
        "models:\n  m:\n    vendor: local\n    prices: {input: 1, output: 1, as_of: 2026-02-30}\n",  # no such day
        "models:\n  m:\n    vendor: local\n    note: 2026-13-01\n",  # no such month
        "models:\n  m:\n    vendor: local\n    context: " + "1" * 5000 + "\n",  # past int parsing
        # An integer no float can hold, as a price:
        "models:\n  m:\n    vendor: local\n    prices: {input: " + "1" * 400 + ", output: 1}\n",
    ],
    ids=["bad-day", "bad-month", "5000-digit-int", "400-digit-price"],
)
def test_values_yaml_or_python_cannot_hold_are_config_errors(text):
    assert isinstance(load_text(text.encode()), ConfigError)


def test_a_self_referencing_alias_list_is_a_config_error():
    assert isinstance(
        load_text(b"models:\n  m:\n    vendor: local\n    aliases: &a [x, *a]\n"), ConfigError
    )


@fuzz(30)
@given(
    st.dictionaries(
        st.text("abcdefgh-.", min_size=1, max_size=8).filter(lambda s: s.strip("-.")),
        st.fixed_dictionaries(
            {"vendor": st.sampled_from(registry.VENDORS)},
            optional={
                "context": st.integers(1, 10**7),
                "capabilities": st.lists(st.sampled_from(CAPABILITIES), unique=True),
                "prices": st.fixed_dictionaries(
                    {"input": st.floats(0, 100), "output": st.floats(0, 100)},
                    optional={"as_of": st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1))},
                ),
            },
        ),
        max_size=4,
    )
)
def test_valid_user_entries_are_all_found(models):
    lower = {k.lower() for k in models}
    if len(lower) < len(models):
        return  # ids differing only in case: "defined twice", tested elsewhere
    reg = load_text(yaml.safe_dump({"models": models}).encode())
    assert not isinstance(reg, ConfigError), reg
    for model_id, f in models.items():
        entry = reg.get(model_id)
        assert entry is not None and entry.vendor == f["vendor"]
        assert entry.context == f.get("context", entry.context)
