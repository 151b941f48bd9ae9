"""`generate --cache`: a repeated request is answered from the response
cache without sending anything (the local server counts what it got); what
changes the answer misses; --refresh re-asks; failures are never kept; a
broken entry is asked again and replaced; a hit's usage record."""

from __future__ import annotations

import json
import threading

import pytest
from faults import ANSWER, OK, Cut, Status
from reuse_helpers import cache_files, usage_records

from rfctl.providers.base import Request


def ask(rfctl, *flags, prompt="What is 2+2?"):
    return rfctl("generate", "--cache", *flags, input=prompt)


def test_a_repeated_request_is_answered_from_the_cache_and_sends_nothing(rfctl, local):
    srv = local()
    first = ask(rfctl)
    second = ask(rfctl)
    assert (first.code, second.code) == (0, 0)
    assert first.out == second.out == ANSWER + "\n"
    assert second.err == ""
    assert len(srv.chat()) == 1
    original, hit = usage_records()
    assert "cached" not in original
    assert hit["cached"] is True and hit["status"] == "ok" and hit["cost_usd"] == 0.0
    assert hit["provider"] == "local" and hit["model"] == original["model"]
    assert (hit["input_tokens"], hit["output_tokens"]) == (
        original["input_tokens"],
        original["output_tokens"],
    )
    assert hit["request_id"] != original["request_id"]


def test_a_hit_as_json_says_it_is_cached(rfctl, local):
    local()
    ask(rfctl)
    r = ask(rfctl, "--format", "json")
    rec = json.loads(r.out)
    assert r.code == 0 and rec["ok"] and rec["cached"] is True
    assert rec["text"] == ANSWER and rec["cost_usd"] == 0.0


def test_a_hit_can_go_to_an_output_file(rfctl, local, tmp_path):
    local()
    ask(rfctl)
    out = tmp_path / "answer.txt"
    r = ask(rfctl, "-o", str(out))
    assert r.code == 0 and r.out == "" and out.read_text() == ANSWER + "\n"


@pytest.mark.parametrize(
    "changed",
    [
        ["-t", "0.7"],
        ["--max-tokens", "99"],
        ["-s", "Be brief."],
        ["--stop", "END"],
        ["-m", "m2"],
    ],
    ids=["temperature", "max_tokens", "system", "stop", "model"],
)
def test_anything_that_changes_the_answer_misses(rfctl, local, changed):
    srv = local()
    ask(rfctl, "-t", "0.2")
    assert ask(rfctl, "-t", "0.2").code == 0
    assert len(srv.chat()) == 1
    flags = changed if changed[0] == "-t" else ["-t", "0.2", *changed]
    assert ask(rfctl, *flags).code == 0
    assert len(srv.chat()) == 2


def test_another_prompt_misses(rfctl, local):
    srv = local()
    ask(rfctl, prompt="one")
    ask(rfctl, prompt="two")
    assert len(srv.chat()) == 2


def test_a_changed_attachment_misses(rfctl, local, monkeypatch):
    """Attachments enter the key by content digest and media type, in order."""
    from rfctl import config
    from rfctl.reuse import Session

    local()
    paths = config.resolve_paths()
    cfg = config.load(paths)

    class Args:
        model = None
        provider: list = []  # noqa: RUF012

    def key(*attachments):
        s = Session(Args(), cfg, paths)
        s.req = Request("Describe it.")
        s.req.attachments = list(attachments)
        s._compute_keys()
        return s.keys["local"]

    png = {"data": b"\x89PNG one", "media_type": "image/png", "name": "a.png"}
    renamed = {**png, "name": "b.png"}
    other = {"data": b"\x89PNG two", "media_type": "image/png", "name": "a.png"}
    assert key(png) == key(renamed)  # the bytes decide, not the file name
    assert key(png) != key(other)
    assert key(png) != key()
    assert key(png, other) != key(other, png)


def test_refresh_asks_again_and_replaces_the_answer(rfctl, local):
    srv = local()
    srv.then(OK("first answer"), OK("second answer"))
    assert ask(rfctl).out == "first answer\n"
    r = rfctl("generate", "--refresh", input="What is 2+2?")
    assert r.code == 0 and r.out == "second answer\n"
    assert ask(rfctl).out == "second answer\n"
    assert len(srv.chat()) == 2
    assert len(cache_files()) == 1


def test_no_cache_bypasses_a_cache_enabled_in_the_config(rfctl, local):
    srv = local("\n[cache]\nenabled = true\n")
    rfctl("generate", input="hi")
    assert rfctl("generate", input="hi").code == 0
    assert len(srv.chat()) == 1  # the config turned the cache on
    assert rfctl("generate", "--no-cache", input="hi").code == 0
    assert len(srv.chat()) == 2


def test_without_the_flag_or_the_config_nothing_is_cached(rfctl, local):
    srv = local()
    rfctl("generate", input="hi")
    rfctl("generate", input="hi")
    assert len(srv.chat()) == 2 and cache_files() == []


@pytest.mark.parametrize("failure", [Status(500), Cut(after=2)], ids=["http 500", "cut stream"])
def test_a_failed_or_partial_answer_is_never_cached(rfctl, local, failure):
    srv = local()
    srv.then(failure)
    r = ask(rfctl)
    assert r.code != 0 and r.err.startswith("rfctl: error: ") and "Traceback" not in r.err
    assert cache_files() == []
    assert ask(rfctl).code == 0  # asked again, now answered
    assert len(srv.chat()) == 2
    assert len(cache_files()) == 1


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"format": 1}', b"\xff\xfe"])
def test_a_corrupted_entry_is_asked_again_and_replaced(rfctl, local, content):
    srv = local()
    ask(rfctl)
    (entry,) = cache_files()
    entry.write_bytes(content)
    r = ask(rfctl)
    assert r.code == 0 and r.out == ANSWER + "\n" and r.err == ""
    assert len(srv.chat()) == 2
    assert json.loads(entry.read_text())["text"] == ANSWER
    assert ask(rfctl).code == 0 and len(srv.chat()) == 2


def test_an_expired_answer_is_asked_again(rfctl, local):
    srv = local("\n[cache]\nttl = 0.001\n")
    ask(rfctl)
    ask(rfctl)
    assert len(srv.chat()) == 2


def test_the_cache_keeps_to_its_size_cap(rfctl, local):
    srv = local("\n[cache]\nmax_bytes = 1500\n")
    for prompt in ("one", "two", "three", "four"):
        assert ask(rfctl, prompt=prompt).code == 0
    assert sum(f.stat().st_size for f in cache_files()) <= 1500
    assert len(cache_files()) < 4
    assert ask(rfctl, prompt="four").code == 0  # the newest answer stays
    assert len(srv.chat()) == 4


def test_parallel_invocations_leave_one_whole_entry(rfctl_process, local):
    srv = local()
    results = []

    def run():
        results.append(rfctl_process("generate", "--cache", input="same question"))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.code for r in results] == [0] * 4
    assert {r.out for r in results} == {ANSWER + "\n"}
    (entry,) = cache_files()
    assert json.loads(entry.read_text())["text"] == ANSWER
    before = len(srv.chat())
    assert rfctl_process("generate", "--cache", input="same question").code == 0
    assert len(srv.chat()) == before


def test_a_hit_from_the_first_provider_that_has_one(rfctl, write_config, server):
    """Each candidate has its own key; the fallback's answer is found next time."""
    write_config(
        "[defaults]\nretries = 0\ntimeout = 5\n\n"
        '[providers.down]\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'model = "m1"\n\n'
        f'[providers.up]\nkind = "openai-compatible"\nbase_url = "{server.url}"\nmodel = "m1"\n'
    )
    assert ask(rfctl).code == 0
    r = ask(rfctl)
    assert r.code == 0 and r.out == ANSWER + "\n"
    assert len(server.chat()) == 1
    assert usage_records()[-1]["provider"] == "up"


def test_no_log_writes_no_record_for_a_hit(rfctl, local):
    local()
    ask(rfctl)
    ask(rfctl, "--no-log")
    assert len(usage_records()) == 1


def test_cache_flags_do_not_combine_with_jsonl(rfctl, local):
    local()
    r = rfctl("generate", "--jsonl", "--cache", input='{"prompt": "hi"}\n')
    assert r.code == 2 and r.err.count("\n") == 1 and "--jsonl" in r.err


def test_a_cache_key_never_holds_the_api_key(rfctl, write_config, server, monkeypatch):
    write_config(
        f'[providers.local]\nkind = "vllm"\nbase_url = "{server.url}"\nmodel = "m1"\n'
        'api_key_env = "VLLM_TEST_KEY"\n'
    )
    monkeypatch.setenv("VLLM_TEST_KEY", "sk-secret-cache-test-1234")
    assert ask(rfctl).code == 0
    monkeypatch.setenv("VLLM_TEST_KEY", "sk-rotated-cache-test-5678")
    assert ask(rfctl).code == 0
    assert len(server.chat()) == 1  # a rotated key still hits
    (entry,) = cache_files()
    assert "sk-" not in entry.read_text()


def test_a_hit_imports_nothing_heavy(rfctl, local):
    """A hit is answered before the transport, the registry, YAML or the
    tokenizer are imported: it costs little more than starting rfctl."""
    import subprocess
    import sys

    from conftest import REPO

    local()
    ask(rfctl)
    watch = ("requests", "urllib3", "yaml", "tiktoken", "rfctl.registry", "rfctl.routing.walk")
    code = (
        "import sys\nfrom rfctl.cli import main\n"
        "code = main(['generate', '--cache'])\n"
        f"print(code, sorted(m for m in {watch!r} if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input="What is 2+2?",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert proc.stdout == ANSWER + "\n"
    assert proc.stderr.strip().splitlines()[-1] == "0 []"


def test_a_hit_streams_once_when_output_is_live(rfctl, local):
    local()
    ask(rfctl)
    r = ask(rfctl, "--stream")
    assert (r.code, r.out) == (0, ANSWER + "\n")


def test_rfctl_usage_counts_a_hit_at_no_cost(rfctl, local):
    local()
    ask(rfctl)
    ask(rfctl)
    r = rfctl("usage", "--format", "json")
    assert r.code == 0, r.err
    total = json.loads(r.out)["total"]
    assert (total["ok"], total["errors"], total["cost_usd"]) == (2, 0, 0.0)
