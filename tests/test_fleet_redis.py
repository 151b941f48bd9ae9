"""The router state on a real redis-server, shared by simulated hosts: each
host is its own state file and its own processes, all naming one Redis.

What is shared: cooldowns (the second host sends nothing to a provider the
first found down), the round-robin cursor, rate buckets, budget reservations
and the daily spend. When Redis goes away calls still succeed on the local
file, and budgets refuse; a slow Redis costs each call no more than its
timeout. The file-backend path never imports the redis client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from conftest import REPO, run_in_process
from faults import OK, FaultServer
from ledger_helpers import DIME_TEXT, Host, config_text, run_all, sent, spawn, write_world
from redis_helpers import DelayProxy

ARGS = ["generate", "--max-tokens", "10", "hi"]


@pytest.fixture
def fleet(tmp_path):
    """fleet(servers, n_hosts, **config) -> hosts sharing one config."""

    def make(servers: dict, n: int, **kw) -> list[Host]:
        config, models = write_world(tmp_path, config_text(servers, **kw))
        return [Host(tmp_path, f"host{i}", config, models) for i in range(n)]

    return make


def shared(redis_url: str) -> dict:
    """[state] for the tests of sharing: these are about atomicity across
    hosts, not the call timeout (test_a_slow_redis_... bounds that), so a
    generous one keeps a loaded machine from sending a slow reply to the
    file fallback mid-test."""
    return {"url": redis_url, "timeout": 2.0}


def run(host: Host, *args: str):
    p = spawn(list(args), host.env)
    out, err = p.communicate(timeout=60)
    assert "Traceback" not in err, err
    return p.returncode, out, err


def test_a_cooldown_found_on_one_host_holds_on_the_next(fleet, redis_url):
    down = FaultServer().start()
    down.stop()  # nothing listens: connections are refused
    with FaultServer(default=OK(text=DIME_TEXT)) as b:
        h1, h2 = fleet({"a": down.url, "b": b}, 2, state=shared(redis_url))
        code, _, _ = run(h1, *ARGS)
        assert code == 0
        assert [r["provider"] for r in h1.records()] == ["a", "b"]
        code, _, err = run(h2, "-v", *ARGS)
        assert code == 0
        assert "skip a: cooling down" in err
        assert [r["provider"] for r in h2.records()] == ["b"]  # sent nothing to a
        assert not h2.state.exists() or "a" not in h2.state.read_text()
        assert sent(b) == 2


def test_hosts_rotate_one_round_robin_cursor(fleet, redis_url):
    with FaultServer(default=OK()) as a, FaultServer(default=OK()) as b:
        hosts = fleet(
            {"a": a, "b": b}, 2, state=shared(redis_url), defaults={"strategy": "round-robin"}
        )
        answered = []
        for i in range(4):
            code, out, err = run(hosts[i % 2], "generate", "--format", "json", "hi")
            assert code == 0, err
            answered.append(json.loads(out)["provider"])
    assert answered in (["a", "b", "a", "b"], ["b", "a", "b", "a"])
    assert sent(a) == sent(b) == 2


def test_an_rpm_bucket_is_shared_by_processes_on_every_host(tmp_path, redis_url):
    """Three requests a minute, four processes on two hosts asking: three go."""
    code = (
        "import sys; from rfctl import config, state\n"
        "paths = config.Paths(*[__import__('pathlib').Path(sys.argv[1])] * 4)\n"
        f"b = state.open_state(paths, {{'url': {redis_url!r}}})\n"
        "print(b.acquire('a:rpm', 1, 3))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / f"host{i % 2}.json")],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    waits = sorted(float(p.communicate(timeout=60)[0]) for p in procs)
    assert waits[:3] == [0.0, 0.0, 0.0] and 0 < waits[3] <= 20.0


def test_a_fleet_budget_holds_under_sixteen_processes_on_four_hosts(fleet, redis_url):
    with FaultServer(default=OK(text=DIME_TEXT)) as srv:
        hosts = fleet({"a": srv}, 4, budget=1.0, state=shared(redis_url))
        results = run_all([(ARGS, hosts[i % 4].env) for i in range(16)])
        codes = sorted(code for code, _, _ in results)
        assert codes == [0] * 10 + [77] * 6, [e for _, _, e in results]
        recs = [r for h in hosts for r in h.records()]
        assert len(recs) == sent(srv) == 10
        assert sum(r["cost_usd"] for r in recs) == pytest.approx(1.00)


def test_redis_stopped_mid_run_calls_go_on_and_budgets_refuse(fleet, own_redis):
    with FaultServer(default=OK(text=DIME_TEXT)) as srv:
        (h,) = fleet({"a": srv}, 1, state={"url": own_redis.url, "timeout": 0.2})
        assert run(h, *ARGS)[0] == 0
        own_redis.stop()
        code, out, err = run(h, *ARGS)
        assert code == 0 and out.strip() == DIME_TEXT
        assert "router state: Redis at redis://127.0.0.1:" in err and "local file" in err
        (hb,) = fleet({"a": srv}, 1, state={"url": own_redis.url, "timeout": 0.2}, budget=5.0)
        code, _, err = run(hb, *ARGS)
        assert code == 77
        assert err.splitlines()[-1].startswith("rfctl: error: cannot check the budget: Redis at")
        assert len([x for x in err.splitlines() if x.startswith("rfctl: error:")]) == 1
        assert sent(srv) == 2 == len(h.records())


def test_a_slow_redis_costs_a_call_no_more_than_its_timeout(fleet, redis_server, redis_url):
    proxy = DelayProxy(redis_server.port, delay=3.0)
    try:
        with FaultServer(default=OK()) as srv:
            (h,) = fleet({"a": srv}, 1, state={"url": proxy.url, "timeout": 0.2})
            t0 = time.monotonic()
            r = run_in_process("generate", "hi", env=h.env)
            took = time.monotonic() - t0
            assert r.code == 0, r.err
            assert "too slow" in r.err
            # One Redis call times out (0.2 s), the rest use the file: far below the 3 s delay.
            assert took < 1.5
    finally:
        proxy.close()


def test_config_show_names_the_backend_without_the_password(rfctl, write_config, monkeypatch):
    monkeypatch.setenv("TEAM_REDIS_PW", "s3cretpw99")
    write_config(
        '[state]\nurl = "rediss://:inurlpw77@cache.internal:6380/2"\n'
        'password_env = "TEAM_REDIS_PW"\nprefix = "team-a:"\n'
    )
    run = rfctl("config", "show", "--json")
    assert run.code == 0, run.err
    st = json.loads(run.out)["state"]
    assert st == {
        "backend": "redis",
        "url": "rediss://cache.internal:6380/2",
        "password_env": "TEAM_REDIS_PW",
        "prefix": "team-a:",
        "timeout": 0.05,
    }
    assert "inurlpw77" not in run.out + run.err and "s3cretpw99" not in run.out + run.err


def test_the_file_backend_never_imports_redis(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rfctl", "generate", "-p", "stub", "hi"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    modules = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line]
    assert "rfctl.routing.walk" in modules  # the call did go through the router
    assert not [m for m in modules if m.split(".")[0] == "redis" or "redis" in m]


def test_three_hosts_logs_total_in_one_call(rfctl, tmp_path):
    """The documented way to see a team's usage without a shared log: ship
    each host's log to one place and read them together."""
    import gzip

    def rec(provider, cost, out):
        return json.dumps(
            {"ts": "2026-12-01T10:00:00.000Z", "request_id": "r", "provider": provider,
             "kind": "openai", "model": "m", "status": "ok", "attempt": 1,
             "output_tokens": out, "latency_ms": 5.0, "cost_usd": cost},
            separators=(",", ":"),
        ) + "\n"  # fmt: skip

    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl"
    a.write_text(rec("claude", 0.5, 10) * 2)
    b.write_bytes(gzip.compress(rec("claude", 0.25, 5).encode()))
    c.write_text(rec("local", 0, 7))
    run = rfctl("usage", "--by", "provider", "--format", "json", str(a), str(b), str(c))
    assert run.code == 0, run.err
    out = json.loads(run.out)
    by = {r["provider"]: r for r in out["groups"]}
    assert by["claude"]["ok"] == 3 and by["claude"]["cost_usd"] == pytest.approx(1.25)
    assert by["local"]["output_tokens"] == 7
    assert out["total"]["ok"] == 4 and out["total"]["output_tokens"] == 32


def test_a_probe_on_one_host_clears_the_cooldown_for_all(fleet, redis_url):
    srv = FaultServer(default=OK(text=DIME_TEXT)).start()
    port = srv.port
    srv.stop()
    try:
        h1, h2 = fleet(
            {"a": srv.url},
            2,
            state=shared(redis_url),
            model="fault-model",
            defaults={"cooldown_base": 30},
        )
        assert run(h1, *ARGS)[0] != 0  # a is down: it cools, in Redis
        code, out, _ = run(h2, "providers", "--no-check", "--json")
        (row,) = [r for r in json.loads(out) if r["name"] == "a"]
        assert row["failures"] >= 1 and row["cooldown_s"] > 0  # host 2 sees host 1's cooldown
        with FaultServer(default=OK(text=DIME_TEXT), port=port):
            assert run(h2, "probe", "a", "--timeout", "5")[0] == 0
            code, out, _ = run(h1, "providers", "--no-check", "--json")
            (row,) = [r for r in json.loads(out) if r["name"] == "a"]
            assert row["failures"] == 0 and row["cooldown_s"] is None
    finally:
        srv.stop()


def test_hosts_share_one_rpm_limit(fleet, redis_url, rfctl, monkeypatch):
    """Two hosts (own state files, one Redis) pace to ONE rpm limit: the
    server sees no more than N requests in any scaled-down minute, though
    each host on its own would have sent its lines at once."""
    from rfctl import pacing

    monkeypatch.setattr(pacing, "MINUTE", 2.0)  # a "minute" of two seconds
    lines = "".join(json.dumps(f"q{i}") + "\n" for i in range(4))
    with FaultServer(default=OK(text=DIME_TEXT)) as srv:
        a, b = fleet({"a": srv}, 2, state=shared(redis_url))
        for host in (a, b):  # one after the other: the second finds the bucket spent
            run_ = rfctl("generate", "--jsonl", "-j", "4", "--rpm", "4", input=lines, env=host.env)
            assert run_.code == 0, run_.err
        times = sorted(s.t for s in srv.chat())
    assert len(times) == 8
    # 4 a "minute" across both hosts: any 5 requests span more than one minute.
    assert min(times[i + 4] - times[i] for i in range(len(times) - 4)) > 1.8
