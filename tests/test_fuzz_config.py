"""The TOML config over arbitrary content: whatever the file says, loading it
gives a Config or a ConfigError (exit 78, one line naming the file), never
another exception. Both ways in are covered: config.load over bytes and TOML
text, config.from_dict over any dict tomllib can produce."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import tomli_w
from fuzz_helpers import fuzz, utf8_text
from hypothesis import given
from hypothesis import strategies as st

from rfctl import config
from rfctl.config import KINDS, Config, ConfigError, Paths

DEFAULT_KEYS = [
    "strategy",
    "timeout",
    "deadline",
    "retries",
    "max_tokens",
    "connect_timeout",
    "first_byte_timeout",
    "stall_timeout",
    "cooldown",
    "max_retry_after",
    "backoff",
    "max_backoff",
]
PROVIDER_KEYS = [
    "kind",
    "base_url",
    "api_key_env",
    "api_key",
    "model",
    "models",
    "priority",
    "enabled",
    "timeout",
    "connect_timeout",
    "stall_timeout",
    "retries",
    "headers",
    "free",
]

VALID = """\
[defaults]
strategy = "cost"
timeout = 30
retries = 1

[budget]
daily_usd = 2.5

[providers.local]
kind = "llamacpp"
base_url = "http://127.0.0.1:8080/v1"
model = "gemma"
headers = { X-Trace = "1" }

[providers.claude]
kind = "anthropic"
api_key_env = "ANTHROPIC_API_KEY"
priority = 5
"""


# ---------------------------------------------------------------- TOML values

words = utf8_text(10)
numbers = st.one_of(
    st.integers(-5, 100),
    st.integers(-(10**400), 10**400),  # TOML integers are unbounded; floats are not
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(
    numbers,
    st.booleans(),
    words,
    st.sampled_from(list(KINDS) + list(config.STRATEGIES)),
    st.sampled_from(
        [
            "http://127.0.0.1:1/v1",
            "https://h",
            "ftp://h",
            "http://[::1",
            "http://h:99999",
            "stub://",
        ]
    ),
    st.dates(),
    st.datetimes(),
    st.times(),
)
toml_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=6,
)


def table(keys: list[str]):
    return st.dictionaries(st.sampled_from(keys) | words, toml_values, max_size=6)


config_dicts = st.fixed_dictionaries(
    {},
    optional={
        "defaults": table(DEFAULT_KEYS) | toml_values,
        "budget": table(["daily_usd"]) | toml_values,
        "providers": st.dictionaries(words, table(PROVIDER_KEYS) | toml_values, max_size=3)
        | toml_values,
        "other": toml_values,
    },
)


def load_text(data: bytes) -> Config | ConfigError:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(data)
        paths = Paths(path, Path(tmp) / "m.yaml", Path(tmp) / "u.jsonl", Path(tmp) / "s.json", True)
        try:
            return config.load(paths)
        except ConfigError as e:  # the one documented failure
            assert str(path) in e.message
            return e


def check(cfg: Config | ConfigError) -> None:
    if isinstance(cfg, ConfigError):
        assert cfg.code == 78
        return
    assert "stub" in cfg.providers
    for p in cfg.providers.values():
        assert p.kind in KINDS


# ---------------------------------------------------------------- load


@fuzz(80)
@given(st.binary(max_size=200) | utf8_text(200).map(str.encode))
def test_any_bytes_load_or_fail_with_a_config_error(data):
    check(load_text(data))


@fuzz(80)
@given(config_dicts)
def test_any_toml_document_loads_or_fails_with_a_config_error(data):
    check(load_text(tomli_w.dumps(data).encode()))


@st.composite
def mutated(draw):
    text = bytearray(VALID.encode())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        junk = draw(
            st.sampled_from([b"=", b"[", b"]", b'"', b"\n", b"{", b"}", b",", b"1" * 400, b"x"])
        )
        if draw(st.booleans()):
            text[at:at] = junk
        else:
            del text[at : at + draw(st.integers(1, 5))]
    return bytes(text)


@fuzz(80)
@given(mutated())
def test_a_damaged_config_loads_or_fails_with_a_config_error(data):
    check(load_text(data))


def test_the_valid_config_loads():
    cfg = load_text(VALID.encode())
    assert isinstance(cfg, Config)
    assert list(cfg.providers) == ["local", "claude", "stub"]


@pytest.mark.parametrize(
    "text",
    [
        "[defaults]\ntimeout = " + "1" * 5000 + "\n",  # past Python's int-parsing limit
        "x = " + "[" * 5000 + "]" * 5000 + "\n",  # nested past the parser's recursion limit
        "x = " + "{a=" * 2000 + "1" + "}" * 2000 + "\n",
        "[defaults]\ntimeout = " + "1" * 400 + "\n",  # an integer no float can hold
        "[defaults]\nretries = " + "9" * 400 + "\n",
        "[budget]\ndaily_usd = " + "1" * 400 + "\n",
        '[providers.a]\nkind = "llamacpp"\ntimeout = ' + "1" * 400 + "\n",
    ],
    ids=[
        "5000-digits",
        "deep-array",
        "deep-table",
        "timeout-400-digits",
        "retries-400-digits",
        "budget-400-digits",
        "provider-timeout-400-digits",
    ],
)
def test_numbers_and_nesting_past_python_limits_are_config_errors(text):
    assert isinstance(load_text(text.encode()), ConfigError)


def test_an_error_about_a_key_with_a_line_break_is_still_one_line():
    # Keys are quoted TOML strings and may hold anything; the error that
    # names one must stay the one `rfctl: error:` line.
    err = load_text(b'[providers."a\\nb"]\nkind = "nope"\n')
    assert isinstance(err, ConfigError)
    assert "\n" not in err.message


# ---------------------------------------------------------------- from_dict


@fuzz(100)
@given(config_dicts)
def test_any_dict_gives_a_config_or_a_config_error(data):
    try:
        cfg = config.from_dict(data, Path("/x/config.toml"))
    except ConfigError as e:
        cfg = e
    check(cfg)


@st.composite
def valid_providers(draw):
    names = draw(st.lists(st.text("abcxyz-_", min_size=1, max_size=6), unique=True, max_size=4))
    out = {}
    for name in names:
        t = {"kind": draw(st.sampled_from([k for k in KINDS if k != "stub"]))}
        if draw(st.booleans()):
            t["priority"] = draw(st.integers(-3, 3))
        if draw(st.booleans()):
            t["timeout"] = draw(st.floats(0.1, 100) | st.integers(1, 100))
        if draw(st.booleans()):
            t["base_url"] = draw(
                st.sampled_from(
                    ["http://127.0.0.1:1/v1", "https://example.com/", "http://[::1]:8/"]
                )
            )
        out[name] = t
    return out


@fuzz(60)
@given(valid_providers())
def test_valid_providers_load_in_priority_order(providers):
    cfg = load_text(tomli_w.dumps({"providers": providers}).encode())
    assert isinstance(cfg, Config)
    order = sorted(
        providers, key=lambda n: providers[n].get("priority", list(providers).index(n) + 1)
    )
    assert [n for n in cfg.providers if n in providers] == order
