"""What only the Redis backend does: fall back to the local file when Redis is
down or slow (advice only: the budget refuses), keep every call within its
timeout, keep the password out of sight; and the [state] table's checks."""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from redis_helpers import DelayProxy, start_redis

from rfctl import console, state
from rfctl.errors import BudgetError, ConfigError
from rfctl.state import redis_backend

DAY = "2026-12-01"


@pytest.fixture
def paths(tmp_path):
    return SimpleNamespace(state=tmp_path / "rfctl" / "state.json")


@pytest.fixture(autouse=True)
def fresh_warnings():
    console.reset()
    yield
    console.reset()


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("rfctl: warning:")]


def test_redis_stopped_mid_run_falls_back_to_the_file_with_one_warning(own_redis, paths, capsys):
    b = state.open_state(paths, {"url": own_redis.url})
    b.fail("a", lambda n: 60.0, "refused")
    assert b.next_cursor() == 0 and b.next_cursor() == 1
    assert not paths.state.exists()  # all of that lives in Redis

    own_redis.stop()
    b.fail("b", lambda n: 60.0, "refused")
    assert set(b.cooldowns()) == {"b"}  # the file's view now
    assert b.next_cursor() == 0  # the file's own cursor
    assert b.acquire("b:rpm", 1, 5) == 0.0
    assert set(state.FileState(paths.state).cooldowns()) == {"b"}
    with pytest.raises(BudgetError, match="cannot check the budget"):
        b.reserve(DAY, 0.01, 10.0, ttl=60)
    with pytest.raises(BudgetError):
        b.spent(DAY)

    (warning,) = warnings(capsys.readouterr().err)
    assert "unreachable or too slow" in warning and str(paths.state) in warning


def test_redis_back_again_is_used_again(own_redis, paths, monkeypatch, tmp_path):
    monkeypatch.setattr(redis_backend, "RETRY_AFTER", 0.0)
    b = state.open_state(paths, {"url": own_redis.url})
    own_redis.stop()
    assert b.next_cursor() == 0  # from the file
    again = start_redis(tmp_path, port=own_redis.port)
    try:
        assert b.next_cursor() == 0 and b.next_cursor() == 1  # the new server's cursor
        assert state.FileState(paths.state).peek_cursor() == 1
    finally:
        again.stop()


@pytest.fixture
def slow_redis(redis_url, redis_server):
    proxy = DelayProxy(redis_server.port, delay=1.0)
    yield proxy
    proxy.close()


def test_a_slow_redis_costs_each_call_no_more_than_its_timeout(
    slow_redis, paths, monkeypatch, capsys
):
    monkeypatch.setattr(redis_backend, "RETRY_AFTER", 0.0)  # every call tries Redis again
    b = state.open_state(paths, {"url": slow_redis.url, "timeout": 0.05})
    calls = [
        lambda: b.fail("a", lambda n: 60.0, "x"),
        lambda: b.cooldowns(),
        lambda: b.succeed("a"),
        lambda: b.next_cursor(),
        lambda: b.peek_cursor(),
        lambda: b.acquire("a:rpm", 1, 5),
    ]
    for call in calls:
        t = time.monotonic()
        call()
        assert time.monotonic() - t < 0.5
    t = time.monotonic()
    with pytest.raises(BudgetError):
        b.reserve(DAY, 0.01, 10.0, ttl=60)
    assert time.monotonic() - t < 0.5
    assert len(warnings(capsys.readouterr().err)) == 1


def test_a_fast_enough_redis_is_used_through_the_proxy(redis_server, redis_url, paths):
    proxy = DelayProxy(redis_server.port, delay=0.0)
    try:
        b = state.open_state(paths, {"url": proxy.url, "timeout": 1.0})
        assert b.reserve(DAY, 1.0, 10.0, ttl=60) is not None
    finally:
        proxy.close()


# ---------------------------------------------------------------- secrets


def test_the_password_comes_from_the_named_variable_and_never_shows(
    tmp_path, paths, monkeypatch, capsys
):
    password = "s3cret-redis-pass"
    server = start_redis(tmp_path, password=password)
    try:
        monkeypatch.setenv("STATE_PASS", password)
        b = state.open_state(paths, {"url": server.url, "password_env": "STATE_PASS"})
        assert b.reserve(DAY, 1.0, 10.0, ttl=60) is not None
        assert password not in repr(b) + repr(b.cfg)

        monkeypatch.setenv("STATE_PASS", "wrong-" + password)
        wrong = state.open_state(paths, {"url": server.url, "password_env": "STATE_PASS"})
        with pytest.raises(BudgetError, match="refused the password") as refused:
            wrong.reserve(DAY, 1.0, 10.0, ttl=60)
        assert password not in str(refused.value)

        inline = f"redis://:{password}@127.0.0.1:{server.port}/0"
        b = state.open_state(paths, {"url": inline})
        assert b.next_cursor() == 0
        assert password not in repr(b) + repr(b.cfg)
        assert password not in capsys.readouterr().err
    finally:
        server.stop()


def test_an_unset_password_variable_is_a_config_error(paths):
    with pytest.raises(ConfigError, match="NO_SUCH_VAR"):
        state.open_state(paths, {"url": "redis://127.0.0.1:1/0", "password_env": "NO_SUCH_VAR"})


# ---------------------------------------------------------------- the [state] table


def test_no_table_means_the_file(paths):
    assert isinstance(state.open_state(paths, None), state.FileState)
    assert isinstance(state.open_state(paths, {}), state.FileState)
    cfg = state.parse_state_section({"url": "rediss://h:6380/2", "prefix": "team:", "timeout": 0.2})
    assert (cfg.url, cfg.prefix, cfg.timeout) == ("rediss://h:6380/2", "team:", 0.2)


@pytest.mark.parametrize(
    "table, message",
    [
        ("redis://h", "must be a table"),
        ({"uri": "redis://h"}, "unknown key 'uri'"),
        ({"url": "http://h:6379"}, "must be redis://"),
        ({"url": "redis://"}, "must be redis://"),
        ({"url": "redis://h:99999"}, "not a valid URL"),
        ({"url": "redis://h/zero"}, "database must be a number"),
        ({"url": 6379}, "must be a redis:// or rediss:// URL"),
        ({"password_env": "not a name"}, "environment variable name"),
        ({"prefix": ""}, "prefix must be"),
        ({"timeout": 0}, "more than 0"),
        ({"timeout": 60}, "at most 10"),
        ({"timeout": "50ms"}, "number of seconds"),
        ({"timeout": True}, "number of seconds"),
    ],
)
def test_a_bad_table_is_a_config_error(table, message):
    with pytest.raises(ConfigError, match=message):
        state.parse_state_section(table)


def test_a_bad_url_never_shows_its_password():
    with pytest.raises(ConfigError) as bad:
        state.parse_state_section({"url": "http://:hunter2-pass@h:6379"})
    assert "hunter2-pass" not in bad.value.message


def test_a_missing_redis_client_is_a_config_error(paths, monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)  # `import redis` now fails
    with pytest.raises(ConfigError, match=r"pip install 'rfctl\[redis\]'"):
        state.open_state(paths, {"url": "redis://127.0.0.1:1/0"})


def test_the_file_path_imports_no_redis():
    code = (
        "import sys, types; from rfctl import state; "
        "state.open_state(types.SimpleNamespace(state='/tmp/x/state.json'), None); "
        "print('redis' in sys.modules, 'rfctl.state.redis_backend' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
