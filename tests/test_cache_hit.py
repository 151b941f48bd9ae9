"""The fast path of `generate --cache` (rfctl.cache_hit): an invocation
identical to one answered before is answered before the parser and the
config, and anything that could change the answer takes the normal path.

`hooked` runs the CLI with cache_hit.answer() called first for `generate`,
as cli.program does; the subprocess test shows what a hit then imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO
from faults import ANSWER, OK
from reuse_helpers import cache_files, usage_records

from rfctl import cache_hit

HOOK = (
    "from rfctl import cache_hit, cli\n"
    "_program = cli.program\n"
    "def program(argv):\n"
    "    if argv[:1] == ['generate']:\n"
    "        code = cache_hit.answer(argv[1:])\n"
    "        if code is not None:\n"
    "            return code\n"
    "    return _program(argv)\n"
    "cli.program = program\n"
)


@pytest.fixture
def hooked(rfctl, monkeypatch):
    from rfctl import cli

    real = cli.program
    served = []

    def program(argv):
        if argv[:1] == ["generate"]:
            code = cache_hit.answer(argv[1:])
            if code is not None:
                served.append(argv)
                return code
        return real(argv)

    monkeypatch.setattr(cli, "program", program)
    monkeypatch.setattr(cache_hit, "pending", None)  # reset after the test, as a new process would

    def run(*args, input="What is 2+2?"):
        return rfctl(*args, input=input)

    run.served = served
    return run


def test_a_repeated_invocation_is_answered_by_the_fast_path(hooked, local):
    srv = local()
    assert hooked("generate", "--cache").out == ANSWER + "\n"  # asked, stored, memo left
    r = hooked("generate", "--cache")
    assert (r.code, r.out, r.err) == (0, ANSWER + "\n", "")
    assert len(hooked.served) == 1 and len(srv.chat()) == 1
    first, hit = usage_records()
    assert hit["cached"] is True and hit["cost_usd"] == 0.0
    assert hit["request_id"] != first["request_id"] and hit["provider"] == "local"
    assert (hit["input_tokens"], hit["output_tokens"]) == (
        first["input_tokens"],
        first["output_tokens"],
    )


def test_the_fast_path_writes_the_same_record_as_the_normal_path(hooked, local):
    local()
    hooked("generate", "--cache")
    hooked("generate", "--cache", "--no-fallback")  # another invocation: a normal-path hit
    hooked("generate", "--cache")  # the first again: the fast path
    normal, fast = usage_records()[1:]
    assert len(hooked.served) == 1
    for rec in (normal, fast):
        rec.pop("ts"), rec.pop("request_id"), rec.pop("latency_ms")
    assert list(fast.items()) == list(normal.items())


@pytest.mark.parametrize(
    "change",
    [
        {"input": "What is 3+3?"},
        {"args": ("-t", "0.5")},
        {"args": ("--format", "json")},  # not a form the fast path writes
        {"config": "\n[cache]\nttl = 3600\n"},  # the config changed: read it again
    ],
    ids=["stdin", "an option", "an option it does not take", "the config"],
)
def test_anything_else_takes_the_normal_path(hooked, local, change):
    srv = local()
    hooked("generate", "--cache")
    hooked("generate", "--cache")
    assert len(hooked.served) == 1
    if "config" in change:
        local(change["config"])
    r = hooked(
        "generate", "--cache", *change.get("args", ()), input=change.get("input", "What is 2+2?")
    )
    assert r.code == 0 and len(hooked.served) == 1
    if "input" in change:
        assert srv.chat()[-1].body["messages"][-1]["content"] == "What is 3+3?"  # stdin reached it


def test_an_expired_or_removed_entry_is_asked_again(hooked, local, rfctl):
    srv = local()
    srv.then(OK("one"), OK("two"))
    hooked("generate", "--cache")
    assert rfctl("cache", "clear").code == 0
    r = hooked("generate", "--cache")
    assert r.out == "two\n" and len(srv.chat()) == 2 and hooked.served == []


def test_the_fast_path_writes_an_output_file(hooked, local, tmp_path):
    local()
    out = tmp_path / "answer.txt"
    hooked("generate", "--cache", "-o", str(out))
    out.unlink()
    r = hooked("generate", "--cache", "-o", str(out))
    assert (r.code, r.out) == (0, "") and out.read_text() == ANSWER + "\n"
    assert len(hooked.served) == 1


def test_no_memo_without_cache_or_with_a_conversation(hooked, local):
    srv = local()
    hooked("generate")
    hooked("generate")
    hooked("generate", "--cache", "-c")
    hooked("generate", "--cache", "-c")
    assert hooked.served == [] and len(srv.chat()) == 4


@pytest.mark.parametrize(
    ("argv", "taken"),
    [
        (["--cache", "hi"], True),
        (["-m", "x", "--cache", "--no-log", "-o", "f"], True),
        (["--model=x", "--cache"], True),
        (["hi"], False),  # no --cache
        (["--cache", "-T", "t"], False),  # a template file
        (["--cache", "-c"], False),
        (["--cache", "--refresh"], False),
        (["--cache", "-v"], False),
        (["--cache", "-mx"], False),
        (["--cache", "-o=f"], False),
        (["--cache", "-m"], False),  # a value missing
    ],
)
def test_which_invocations_the_fast_path_takes(argv, taken):
    assert (cache_hit._options(argv) is not None) is taken


def test_a_fast_hit_imports_neither_the_parser_nor_the_config(rfctl, local):
    local()
    rfctl("generate", "--cache", input="What is 2+2?")
    code = (
        "import sys\n" + HOOK + "rc = cli.main(['generate', '--cache'])\n"
        "watch = ('argparse', 'rfctl.config', 'rfctl.commands', 'dataclasses', 'requests')\n"
        "print(rc, sorted(m for m in watch if m in sys.modules), file=sys.stderr)\n"
    )

    def run():
        return subprocess.run(
            [sys.executable, "-c", code],
            input="What is 2+2?",
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )

    first = run()  # a hit through the normal path: it leaves the memo
    assert first.stdout == ANSWER + "\n"
    second = run()
    assert second.stdout == ANSWER + "\n"
    assert second.stderr.strip().splitlines()[-1] == "0 []"
    assert len(cache_files()) == 1
    assert json.loads(cache_files()[0].read_text())["text"] == ANSWER


def test_the_record_time_is_written_as_the_usage_log_writes_it(hooked, local):
    import re

    local()
    hooked("generate", "--cache")
    hooked("generate", "--cache")
    normal, fast = usage_records()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fast["ts"])
    assert fast["ts"] >= normal["ts"]


@pytest.mark.parametrize("what", ["memo", "entry"])
@pytest.mark.parametrize("content", [b"", b"{not json", b"[]", b'{"format": 1, "files": 3}'])
def test_a_broken_memo_or_entry_takes_the_normal_path(hooked, local, what, content):
    from pathlib import Path

    srv = local()
    hooked("generate", "--cache")
    if what == "memo":
        (memo,) = Path(cache_hit.memo_dir()).glob("*.json")
        memo.write_bytes(content)
    else:
        (entry,) = cache_files()
        entry.write_bytes(content)
    r = hooked("generate", "--cache")
    assert (r.code, r.out, r.err) == (0, ANSWER + "\n", "")
    assert hooked.served == []
    assert len(srv.chat()) == (1 if what == "memo" else 2)


def test_an_input_too_large_to_memoise_reaches_the_normal_path_whole(hooked, local, monkeypatch):
    monkeypatch.setattr(cache_hit, "MAX_STDIN", 10)
    srv = local()
    long = "a long question, well past ten bytes"
    for _ in range(2):
        r = hooked("generate", "--cache", input=long)
        assert r.code == 0
    assert hooked.served == [] and len(srv.chat()) == 1  # the normal path's cache still hits
    assert srv.chat()[0].body["messages"][-1]["content"] == long
