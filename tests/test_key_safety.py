"""Keys stay home: a cloud key goes over HTTPS or to this machine only, an
authenticated request does not follow a redirect to another host, a token in
`headers` is guarded like api_key, and a key echoed back in any cut is
redacted."""

from __future__ import annotations

import os
import time

import pytest
from adapter_helpers import FAST, SECRET, LocalServer, adapter, reset_caches, response_head

from rfctl import console
from rfctl.config import from_dict
from rfctl.errors import ConfigError
from rfctl.providers.base import ProviderError, Request
from rfctl.redact import WINDOW, redact, register_secret


@pytest.fixture(autouse=True)
def _fresh():
    reset_caches()
    console.reset()


# ---------------------------------------------------------------- where a cloud key may go


def provider_table(kind: str, base_url: str, **extra) -> dict:
    return {"providers": {"gw": {"kind": kind, "base_url": base_url, **extra}}}


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize(
    "url",
    ["http://gateway.example/v1", "http://10.0.0.5:8080", "http://192.168.1.20/v1", "http://my-host.local"],
)  # fmt: skip
def test_a_cloud_key_over_plain_http_to_another_host_is_refused(tmp_path, kind, url):
    with pytest.raises(ConfigError) as e:
        from_dict(provider_table(kind, url), tmp_path / "config.toml")
    msg = str(e.value)
    assert "'gw'" in msg and "allow_insecure" in msg and "https" in msg


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize(
    "url",
    ["https://gateway.example/v1", "http://127.0.0.1:8080", "http://127.9.9.9", "http://localhost:1234/v1", "http://[::1]:8080"],
)  # fmt: skip
def test_a_cloud_key_may_go_over_https_or_to_loopback(tmp_path, kind, url):
    cfg = from_dict(provider_table(kind, url), tmp_path / "config.toml")
    assert cfg.providers["gw"].base_url == url.rstrip("/")


def test_allow_insecure_lets_a_provider_use_plain_http(tmp_path):
    cfg = from_dict(
        provider_table("openai", "http://gateway.example/v1", allow_insecure=True),
        tmp_path / "config.toml",
    )
    assert cfg.providers["gw"].allow_insecure is True


def test_allow_insecure_must_be_a_boolean(tmp_path):
    with pytest.raises(ConfigError, match="allow_insecure"):
        from_dict(provider_table("openai", "http://x/v1", allow_insecure="yes"), tmp_path / "c")


@pytest.mark.parametrize("kind", ["llamacpp", "vllm", "ollama", "openai-compatible"])
def test_local_kinds_may_use_plain_http_anywhere(tmp_path, kind):
    from_dict(provider_table(kind, "http://gpu-box.lan:8000/v1"), tmp_path / "config.toml")


@pytest.mark.parametrize(
    "args", [("providers",), ("generate", "-p", "gw", "--dry-run"), ("models",)]
)
def test_every_command_refuses_before_sending_anything(rfctl, write_config, args):
    write_config('[providers.gw]\nkind = "anthropic"\nbase_url = "http://gateway.example"\n')
    run = rfctl(*args, input="hi", env={"ANTHROPIC_API_KEY": SECRET})
    assert run.code == 78
    assert run.err.count("\n") == 1 and run.err.startswith("rfctl: error:")
    assert "'gw'" in run.err and "allow_insecure" in run.err
    assert SECRET not in run.err + run.out


# ---------------------------------------------------------------- tokens in headers


@pytest.mark.parametrize(
    "header, warned",
    [("X-Auth-Token", True), ("Authorization", True), ("X-Api-Key", True), ("X-Title", False)],
)
def test_a_token_in_headers_of_a_readable_file_is_warned_about(rfctl, write_config, header, warned):
    path = write_config(
        '[providers.gw]\nkind = "llamacpp"\nbase_url = "http://127.0.0.1:9/v1"\n'
        f'headers = {{ "{header}" = "Bearer tok-Hw3Jk8Lq2Zx7Vb5Nm4" }}\n'
    )
    os.chmod(path, 0o644)
    run = rfctl("providers")
    assert run.code == 0, run.err
    assert ("readable by others" in run.err) is warned
    assert "tok-Hw3Jk8Lq2Zx7Vb5Nm4" not in run.err + run.out
    os.chmod(path, 0o600)
    assert "readable by others" not in rfctl("providers").err


# ---------------------------------------------------------------- redirects


def redirecting_to(target: str):
    def script(conn, request, srv):
        conn.sendall(
            b"HTTP/1.1 307 Temporary Redirect\r\n"
            + f"Location: {target}/v1/chat/completions\r\n".encode()
            + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )

    return script


def answering(conn, request, srv):
    body = (
        b'{"id":"c","model":"m","choices":[{"index":0,"message":{"content":"from B"},'
        b'"finish_reason":"stop"}]}'
    )
    conn.sendall(response_head(content_type="application/json") + body)


@pytest.fixture
def two_hosts():
    """Server A redirects every request to server B (another origin: another port)."""
    with LocalServer(answering) as b, LocalServer(redirecting_to(b.url)) as a:
        yield a, b


CREDENTIALED = [
    ("openai", {"key": SECRET}),
    ("anthropic", {"key": SECRET}),
    ("llamacpp", {"key": SECRET}),
    ("llamacpp", {"headers": {"X-Auth-Token": SECRET}}),
]


@pytest.mark.parametrize("kind, creds", CREDENTIALED)
@pytest.mark.parametrize("stream", [False, True])
def test_an_authenticated_request_does_not_follow_a_redirect(two_hosts, kind, creds, stream):
    a, b = two_hosts
    base = f"{a.url}/v1" if kind != "anthropic" else a.url
    with pytest.raises(ProviderError) as e:
        adapter(kind, base, model="m", **creds).generate(Request("hi", stream=stream), FAST)
    assert b.requests == []  # the key never reached the other host
    assert e.value.status == 307 and e.value.transient is False
    assert b.url in e.value.message  # names where it wanted to send us
    assert SECRET not in e.value.message


def test_an_unauthenticated_request_follows_a_redirect(two_hosts):
    a, b = two_hosts
    result = adapter("llamacpp", f"{a.url}/v1", model="m").generate(Request("hi"), FAST)
    assert result.text == "from B" and len(b.requests) == 1


# ---------------------------------------------------------------- redaction


KEY = "sk-ant-api03-Rz4Tq8Wm2Xv7Lp9Nb3Kc6Yh1Jd5Fg0"


@pytest.fixture
def registered():
    register_secret(KEY)
    return KEY


@pytest.mark.parametrize(
    "echo",
    [
        KEY,
        KEY[len("sk-ant-") :],  # without its prefix
        KEY[len("sk-ant-api03-") :],
        KEY[10 : 10 + WINDOW],  # any WINDOW characters of it
        KEY[-WINDOW - 3 :],
        "prefix" + KEY[5:30] + "suffix",  # inside a longer token
    ],
)
def test_a_key_echoed_in_any_cut_is_redacted(registered, echo):
    text = redact(f"invalid x-api-key '{echo}' for this org")
    assert "[redacted]" in text
    for i in range(len(KEY) - WINDOW + 1):
        assert KEY[i : i + WINDOW] not in text


def test_short_fragments_and_ordinary_text_are_kept(registered):
    text = f"key ending {KEY[-6:]} rejected; internationalization_is_hard and so on"
    assert redact(text) == text


def test_text_around_the_key_is_kept(registered):
    assert redact(f"a {KEY[8:]} b") == "a [redacted] b"
    assert redact(f"x:{KEY[13:30]}:y") == "x:[redacted]:y"


def test_redaction_stays_fast_on_large_text(registered):
    for i in range(20):
        register_secret(f"sk-proj-{i:02d}Qw9Er8Ty7Ui6Op5As4Df3Gh2Jk1Lz")
    text = ("token_like-words_without_any-key " * 3000) + "z" * 100_000
    start = time.perf_counter()
    assert redact(text) == text
    assert time.perf_counter() - start < 1.0
