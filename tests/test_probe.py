"""`rfctl probe` as cron, Nagios and node_exporter see it: exit codes 0/1/2/3,
the status line, --json, the textfile, cooldowns, and no secret anywhere.

Servers are real sockets on 127.0.0.1: FakeServer answers, a free port
refuses, silent_server() accepts and never answers.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, free_port, require_tool
from probe_helpers import (
    FakeServer,
    llama_routes,
    provider_toml,
    silent_server,
    vllm_routes,
)


def refused() -> str:
    return f"http://127.0.0.1:{free_port()}"


# ---------------------------------------------------------------- exit codes


def test_all_up_is_ok(rfctl, write_config):
    with FakeServer(llama_routes()) as llama, FakeServer(vllm_routes()) as vllm:
        write_config(
            provider_toml("llama", "llamacpp", f"{llama.url}/v1")
            + provider_toml("vllm", "vllm", f"{vllm.url}/v1", model="Qwen/Qwen2.5-7B-Instruct")
        )
        run = rfctl("probe", "--timeout", "5")
    assert run.code == 0, run.out + run.err
    status, *lines = run.out.splitlines()
    assert status.startswith("RFCTL OK - 2/2 providers up | up=2;;;0;2 ")
    assert lines[0].startswith("llama: UP ") and lines[1].startswith("vllm: UP ")
    assert run.err == ""


def test_one_down_is_warning(rfctl, write_config):
    with FakeServer(llama_routes()) as llama:
        write_config(
            provider_toml("llama", "llamacpp", f"{llama.url}/v1")
            + provider_toml("gone", "ollama", refused())
        )
        run = rfctl("probe", "--timeout", "5")
    assert run.code == 1, run.out + run.err
    assert run.out.startswith("RFCTL WARNING - 1/2 providers up (gone down) |")
    assert "gone: DOWN" in run.out and "refused" in run.out


def test_all_down_is_critical(rfctl, write_config):
    with silent_server() as hung:
        write_config(
            provider_toml("gone", "ollama", refused()) + provider_toml("hung", "vllm", f"{hung}/v1")
        )
        run = rfctl("probe", "--timeout", "1", timeout=30)
    assert run.code == 2, run.out + run.err
    assert run.out.startswith("RFCTL CRITICAL - 0/2 providers up (gone, hung down) |")
    hung_line = [line for line in run.out.splitlines() if line.startswith("hung:")][0]
    assert "DOWN" in hung_line and ("time" in hung_line or "no response" in hung_line)


@pytest.mark.parametrize(
    "config",
    [
        '[providers.x]\nkind = "telepathy"\n',
        '[providers.x\nkind = "ollama"\n',
        '[defaults]\nretries = "many"\n',
    ],
)
def test_bad_config_is_unknown(rfctl, write_config, config):
    write_config(config)
    run = rfctl("probe")
    assert run.code == 3
    assert run.out.startswith("RFCTL UNKNOWN - ")
    assert run.err.startswith("rfctl: error: ") and "Traceback" not in run.err


def test_missing_config_file_named_explicitly_is_unknown(rfctl, tmp_path):
    run = rfctl("probe", env={"RFCTL_CONFIG": str(tmp_path / "nope.toml")})
    assert run.code == 3 and "not found" in run.out


def test_bad_model_registry_is_unknown(rfctl, write_config, tmp_path):
    write_config(provider_toml("x", "ollama", refused()))
    bad = tmp_path / "models.yaml"
    bad.write_text("models:\n  gpt-4o: {context: huge}\n")
    run = rfctl("probe", env={"RFCTL_MODELS": str(bad)})
    assert run.code == 3 and str(bad) in run.out


@pytest.mark.parametrize(
    "argv",
    [
        ["--bogus"],
        ["--timeout", "soon"],
        ["--timeout", "-1"],
        ["--timeout", "0"],
        ["--timeout"],
    ],
)
def test_usage_errors_are_unknown_not_2(rfctl, write_config, argv):
    write_config(provider_toml("x", "ollama", refused()))
    run = rfctl("probe", *argv)
    assert run.code == 3, run.err
    assert run.out.startswith("RFCTL UNKNOWN - usage error: ")
    assert "usage: rfctl probe" in run.err


def test_unknown_provider_name_is_unknown(rfctl, write_config):
    write_config(provider_toml("x", "ollama", refused()))
    run = rfctl("probe", "nosuch")
    assert run.code == 3 and "nosuch" in run.out and "nosuch" in run.err


def test_named_cloud_provider_without_key_is_unknown(rfctl):
    run = rfctl("probe", "claude")  # zero-config claude, no ANTHROPIC_API_KEY
    assert run.code == 3 and "ANTHROPIC_API_KEY" in run.err


def test_nothing_to_probe_is_unknown(rfctl, write_config):
    write_config(provider_toml("x", "ollama", refused(), enabled=False))
    run = rfctl("probe")
    assert run.code == 3 and "no providers to probe" in run.out


def test_help_still_exits_0(rfctl):
    run = rfctl("probe", "--help")
    assert run.code == 0 and "monitoring" in run.out


# ---------------------------------------------------------------- what is checked


def test_only_named_providers_are_probed(rfctl, write_config):
    with FakeServer(llama_routes()) as llama:
        write_config(
            provider_toml("llama", "llamacpp", f"{llama.url}/v1")
            + provider_toml("gone", "ollama", refused())
        )
        run = rfctl("probe", "llama")
    assert run.code == 0 and "gone" not in run.out


def test_configured_model_missing_on_the_server_is_down(rfctl, write_config):
    with FakeServer(vllm_routes()) as vllm:
        write_config(provider_toml("vllm", "vllm", f"{vllm.url}/v1", model="llama3.3"))
        run = rfctl("probe", "--json")
    assert run.code == 2, run.out + run.err
    [p] = json.loads(run.out)["providers"]
    assert p["up"] is False and p["model_found"] is False and p["error"] == "model_not_found"
    assert "llama3.3" in p["detail"] and "Qwen/Qwen2.5-7B-Instruct" in p["detail"]


def test_model_check_is_skipped_when_the_server_cannot_list(rfctl, write_config):
    routes = {("GET", "/health"): (200, b"")}  # no /v1/models at all
    with FakeServer(routes) as server:
        write_config(provider_toml("v", "vllm", f"{server.url}/v1", model="anything"))
        run = rfctl("probe", "--json")
    assert run.code == 0, run.out + run.err
    assert json.loads(run.out)["providers"][0]["model_found"] is None


def test_probes_run_in_parallel(rfctl, write_config):
    with silent_server() as a, silent_server() as b, silent_server() as c:
        write_config(
            provider_toml("a", "llamacpp", f"{a}/v1")
            + provider_toml("b", "vllm", f"{b}/v1")
            + provider_toml("c", "ollama", c)
        )
        run = rfctl("probe", "--json", "--timeout", "1", timeout=30)
    assert run.code == 2
    report = json.loads(run.out)
    # Three one-second timeouts at once, not one after another.
    assert report["duration_s"] < 2.5, report


def test_generate_asks_for_one_token(rfctl, write_config):
    with FakeServer(llama_routes()) as llama:
        write_config(provider_toml("llama", "llamacpp", f"{llama.url}/v1"))
        run = rfctl("probe", "--generate", "--json")
        [(_, _, _)] = [r for r in llama.requests if r[0] == "POST"]
    assert run.code == 0, run.out + run.err
    report = json.loads(run.out)
    assert report["mode"] == "generate" and report["providers"][0]["up"] is True


def test_generate_failure_is_down(rfctl, write_config):
    routes = {
        **llama_routes(),
        ("POST", "/v1/chat/completions"): (
            500,
            {"error": {"code": 500, "message": "model crashed", "type": "server_error"}},
        ),
    }
    with FakeServer(routes) as llama:
        write_config(provider_toml("llama", "llamacpp", f"{llama.url}/v1"))
        run = rfctl("probe", "--generate")
    assert run.code == 2 and "model crashed" in run.out


# ---------------------------------------------------------------- --json


def test_json_report(rfctl, write_config):
    with FakeServer(llama_routes()) as llama:
        write_config(
            provider_toml("llama", "llamacpp", f"{llama.url}/v1")
            + provider_toml("gone", "ollama", refused())
        )
        run = rfctl("probe", "--json")
    assert run.code == 1
    report = json.loads(run.out)
    assert report["status"] == "WARNING" and report["code"] == 1
    assert (report["up"], report["total"], report["mode"]) == (1, 2, "shallow")
    assert abs(report["timestamp"] - time.time()) < 60
    llama, gone = report["providers"]
    assert llama["provider"] == "llama" and llama["up"] is True and llama["error"] is None
    assert gone["up"] is False and gone["error"] == "connect" and gone["kind"] == "ollama"
    assert gone["duration_s"] >= 0


def test_json_unknown(rfctl, write_config):
    write_config('[providers.x]\nkind = "telepathy"\n')
    run = rfctl("probe", "--json")
    assert run.code == 3
    assert json.loads(run.out)["status"] == "UNKNOWN"


# ---------------------------------------------------------------- cooldowns


def test_connection_failure_starts_a_cooldown_and_success_ends_it(rfctl, write_config, tmp_path):
    state = pytest.importorskip("rfctl.state", reason="rfctl/state.py (router helper) missing")
    path = tmp_path / "state.json"
    env = {"RFCTL_STATE": str(path)}
    write_config(provider_toml("local", "llamacpp", f"{refused()}/v1"))
    assert rfctl("probe", env=env).code == 2
    assert state.cooldowns(path)["local"] > 0
    with FakeServer(llama_routes()) as llama:
        write_config(provider_toml("local", "llamacpp", f"{llama.url}/v1"))
        assert rfctl("probe", env=env).code == 0
    assert "local" not in state.cooldowns(path)


def test_a_wrong_model_is_no_reason_for_a_cooldown(rfctl, write_config, tmp_path):
    state = pytest.importorskip("rfctl.state", reason="rfctl/state.py (router helper) missing")
    path = tmp_path / "state.json"
    with FakeServer(vllm_routes()) as vllm:
        write_config(provider_toml("vllm", "vllm", f"{vllm.url}/v1", model="llama3.3"))
        assert rfctl("probe", env={"RFCTL_STATE": str(path)}).code == 2
    assert state.cooldowns(path) == {}


# ---------------------------------------------------------------- --textfile


def parse_prom(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_textfile_metrics(rfctl, write_config, tmp_path):
    prom = tmp_path / "rfctl.prom"
    with FakeServer(llama_routes()) as llama:
        write_config(
            provider_toml("llama", "llamacpp", f"{llama.url}/v1")
            + provider_toml("gone", "ollama", refused())
        )
        run = rfctl("probe", "--textfile", str(prom))
    assert run.code == 1
    text = prom.read_text()
    metrics = parse_prom(text)
    assert metrics['rfctl_provider_up{provider="llama"}'] == 1
    assert metrics['rfctl_provider_up{provider="gone"}'] == 0
    assert metrics['rfctl_probe_duration_seconds{provider="llama"}'] >= 0
    assert abs(metrics["rfctl_probe_timestamp_seconds"] - time.time()) < 60
    assert "# TYPE rfctl_provider_up gauge" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "rfctl.prom"]
    assert prom.stat().st_mode & 0o044 == 0o044  # node_exporter runs as another user


def test_textfile_passes_promtool(rfctl, write_config, tmp_path):
    promtool = require_tool("promtool")
    prom = tmp_path / "rfctl.prom"
    with FakeServer(llama_routes()) as llama, silent_server() as hung:
        write_config(
            provider_toml("llama", "llamacpp", f"{llama.url}/v1")
            + provider_toml("'we\"ird'", "ollama", refused())  # a quoted TOML key
            + provider_toml("hung", "vllm", f"{hung}/v1")
        )
        run = rfctl("probe", "--timeout", "1", "--textfile", str(prom), timeout=30)
    assert run.code == 1, run.out + run.err
    check = subprocess.run(
        [promtool, "check", "metrics"], input=prom.read_text(), capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'provider="we\\"ird"' in prom.read_text()


def test_unwritable_textfile_is_unknown(rfctl, write_config, tmp_path):
    write_config(provider_toml("x", "ollama", refused()))
    run = rfctl("probe", "--textfile", str(tmp_path / "no" / "such" / "dir" / "x.prom"))
    assert run.code == 3 and "cannot write" in run.err


# A child that runs the real probe but stalls half-way through writing the
# textfile's temporary file, so the parent can SIGKILL it mid-write.
SLOW_WRITER = r"""
import os, sys, time
import rfctl.atomic as output  # where the atomic write lives

marker = sys.argv[1]

class HalfWriter:
    def __init__(self, f):
        self.f = f
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()
    def write(self, text):
        if b"rfctl_provider_up" not in text:  # another atomic file (the registry cache)
            return self.f.write(text)
        self.f.write(text[: len(text) // 2])
        self.f.flush()
        open(marker, "w").close()
        time.sleep(60)
    def __getattr__(self, name):
        return getattr(self.f, name)

class SlowOS:
    def __getattr__(self, name):
        return getattr(os, name)
    def fdopen(self, *args, **kwargs):
        return HalfWriter(os.fdopen(*args, **kwargs))

output.os = SlowOS()
from rfctl.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_textfile_is_never_half_written(write_config, tmp_path):
    prom = tmp_path / "rfctl.prom"
    old = "# HELP rfctl_provider_up old\n# TYPE rfctl_provider_up gauge\nrfctl_provider_up 1\n"
    prom.write_text(old)
    marker = tmp_path / "mid-write"
    write_config(provider_toml("gone", "ollama", refused()))
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(marker), "probe", "--textfile", str(prom)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert child.poll() is None, f"finished without writing: {child.stderr.read()}"
            assert time.monotonic() < deadline, "the probe never started writing the textfile"
            time.sleep(0.02)
        half = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        # Really mid-write: the temp file has a first part, not the last metric.
        assert half and half[0].stat().st_size > 0
        assert "rfctl_probe_timestamp_seconds " not in half[0].read_text()
        assert prom.read_text() == old
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert prom.read_text() == old  # the old file, whole
    # What the kill left behind is not a *.prom file: node_exporter ignores it.
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".prom")] == ["rfctl.prom"]


def test_textfile_is_old_or_whole_whenever_the_probe_is_killed(rfctl, write_config, tmp_path):
    prom = tmp_path / "rfctl.prom"
    write_config(provider_toml("gone", "ollama", refused()))
    rfctl("probe", "--textfile", str(prom))  # a complete file to compare with
    argv = [sys.executable, "-m", "rfctl", "probe", "--textfile", str(prom)]
    complete = prom.read_text()
    assert complete.endswith("\n") and "rfctl_probe_timestamp_seconds" in complete
    rng = random.Random(5)
    for _ in range(8):
        child = subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.05, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        text = prom.read_text()
        assert text.endswith("rfctl_probe_timestamp_seconds " + text.rsplit(" ", 1)[-1])
        assert text.count("\n") == complete.count("\n")


# ---------------------------------------------------------------- secrets

SECRET = "rfctl-test-key-Qx7Zp9Lm3Vb8Kw2"  # no sk- prefix: only the known-key redaction catches it


def echo_key(headers: dict) -> dict:
    """An error body that repeats the credentials it was sent, as careless servers do."""
    sent = headers.get("Authorization") or headers.get("x-api-key") or ""
    return {
        "error": {
            "message": f"Incorrect API key provided: {sent}",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }


def test_a_key_never_appears_in_any_output(rfctl, write_config, tmp_path):
    prom = tmp_path / "rfctl.prom"
    state = tmp_path / "state.json"
    routes = {
        ("GET", "/v1/models"): (401, echo_key),
        ("POST", "/v1/chat/completions"): (401, echo_key),
        ("GET", "/health"): (200, b""),
    }
    env = {"OPENAI_API_KEY": SECRET, "MY_VLLM_KEY": SECRET, "RFCTL_STATE": str(state)}
    with FakeServer(routes) as server, FakeServer(vllm_routes()) as vllm:
        write_config(
            provider_toml("openai", "openai", f"{server.url}/v1", model="gpt-4o-mini")
            + provider_toml(
                "vllm",
                "vllm",
                f"{vllm.url}/v1",
                api_key_env="MY_VLLM_KEY",
                model="Qwen/Qwen2.5-7B-Instruct",
            )
            + provider_toml("gone", "ollama", refused())
        )
        runs = [
            rfctl("probe", env=env),
            rfctl("probe", "--json", "--textfile", str(prom), env=env),
            rfctl("probe", "--generate", "-v", env=env),
            rfctl("providers", env=env),
            rfctl("providers", "--json", env=env),
            rfctl("models", "--json", env=env),
            rfctl("models", "--names", "--available", env=env),
        ]
        assert any(h.get("Authorization") == f"Bearer {SECRET}" for _, _, h in server.requests)
    assert "Incorrect API key" in runs[0].out  # the server's message does get through
    for run in runs:
        assert SECRET not in run.out and SECRET not in run.err, run
    assert SECRET not in prom.read_text()
    if state.exists():
        assert SECRET not in state.read_text()
    assert json.loads(runs[4].out)[0]["key"] == "present"


def test_shallow_ollama_probe_checks_the_model_with_one_listing_call(rfctl, write_config):
    """Model names come from /api/tags alone: no /api/show per pulled model."""
    import responses

    write_config(
        '[providers.o]\nkind = "ollama"\nbase_url = "http://ollama.test:11434"\n'
        'model = "qwen3-coder:30b"\n'
    )
    tags = {
        "models": [{"name": f"m{i}:7b", "model": f"m{i}:7b"} for i in range(20)]
        + [{"name": "qwen3-coder:30b", "model": "qwen3-coder:30b"}]
    }
    with responses.RequestsMock() as rsps:
        rsps.get("http://ollama.test:11434/api/version", json={"version": "0.33.0"})
        rsps.get("http://ollama.test:11434/api/tags", json=tags)
        run = rfctl("probe", "--timeout", "5")
        assert not [c for c in rsps.calls if c.request.url.endswith("/api/show")]
    assert run.code == 0, run
