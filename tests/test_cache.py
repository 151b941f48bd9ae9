"""The response cache: keys, hits and misses, expiry, LRU pruning, parallel
writers, broken entries, and `rfctl cache`."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time

import pytest

from rfctl.cache import Cache, Entry, request_key

URL = "http://127.0.0.1:8080/v1"

REQ = {
    "messages": [{"role": "user", "content": "Capital of Peru?"}],
    "system": "Answer in one word",
    "temperature": 0.2,
    "max_tokens": 16,
}


def key(**changes) -> str:
    return request_key("llamacpp", URL, "gemma3-270m", {**REQ, **changes})


def entry(text="Lima", **kw) -> Entry:
    fields = dict(
        provider="local",
        kind="llamacpp",
        model="gemma3-270m",
        finish_reason="stop",
        usage={"input_tokens": 12, "output_tokens": 2, "source": "provider"},
        cost_usd=0.0012,
    )
    return Entry(text=text, **{**fields, **kw})


@pytest.fixture
def cache(tmp_path):
    return Cache(tmp_path / "responses", ttl=3600, max_bytes=1 << 20)


# ---------------------------------------------------------------- keys


def test_the_same_request_has_the_same_key_and_a_key_is_a_sha256():
    assert key() == key()
    assert len(key()) == 64 and all(c in "0123456789abcdef" for c in key())


@pytest.mark.parametrize(
    "changes",
    [
        {"temperature": 0.3},
        {"max_tokens": 17},
        {"system": "Answer in two words"},
        {"stop": ["\n"]},
        {"messages": [{"role": "user", "content": "Capital of Chile?"}]},
        {"schema": {"type": "object"}},
        {"reasoning": {"effort": "high"}},
        {"attachments": [{"sha256": "ab" * 32, "media_type": "image/png"}]},
    ],
    ids=lambda c: next(iter(c)),
)
def test_anything_that_changes_the_answer_changes_the_key(changes):
    assert key(**changes) != key()


def test_attachment_hash_and_order_are_part_of_the_key():
    a = {"sha256": "aa" * 32, "media_type": "image/png"}
    b = {"sha256": "bb" * 32, "media_type": "image/png"}
    assert key(attachments=[a]) != key(attachments=[b])
    assert key(attachments=[a, b]) != key(attachments=[b, a])


def test_provider_kind_url_and_model_are_part_of_the_key():
    base = request_key("llamacpp", URL, "m", REQ)
    assert request_key("vllm", URL, "m", REQ) != base
    assert request_key("llamacpp", "http://127.0.0.1:8081/v1", "m", REQ) != base
    assert request_key("llamacpp", URL, "m2", REQ) != base


def test_equivalent_spellings_share_a_key():
    assert key(temperature=1) == key(temperature=1.0)
    assert key(stop=[]) == key(stop=None) == key()
    assert request_key("llamacpp", URL + "/", "m", REQ) == request_key("llamacpp", URL, "m", REQ)
    reordered = dict(reversed(list(REQ.items())))
    assert request_key("llamacpp", URL, "m", reordered) == request_key("llamacpp", URL, "m", REQ)


def test_a_field_that_does_not_decide_the_answer_is_refused():
    with pytest.raises(ValueError, match="headers"):
        request_key("openai", URL, "m", {**REQ, "headers": {"Authorization": "Bearer x"}})


def test_credentials_in_the_url_are_not_part_of_the_key(cache):
    secret = "sk-proj-abcdef1234567890"
    plain = request_key("openai-compatible", "https://gw.example.com/v1", "m", REQ)
    assert (
        request_key("openai-compatible", f"https://me:{secret}@gw.example.com/v1", "m", REQ)
        == plain
    )
    assert request_key(
        "openai-compatible", f"https://gw.example.com/v1?api_key={secret}", "m", REQ
    ) == (
        request_key(
            "openai-compatible", "https://gw.example.com/v1?api_key=other-key-99999999", "m", REQ
        )
    )
    cache.put(plain, entry())
    for name in os.listdir(cache.dir):
        with open(os.path.join(cache.dir, name)) as f:
            assert secret not in f.read()


# ---------------------------------------------------------------- hits, misses, expiry


def test_a_stored_answer_is_a_hit_and_another_request_a_miss(cache):
    assert cache.get(key()) is None
    assert cache.put(key(), entry())
    hit = cache.get(key())
    assert hit is not None
    assert (hit.text, hit.provider, hit.model, hit.finish_reason) == (
        "Lima",
        "local",
        "gemma3-270m",
        "stop",
    )
    assert hit.usage["input_tokens"] == 12 and hit.cost_usd == 0.0012 and hit.created > 0
    assert cache.get(key(temperature=0.9)) is None
    assert cache.get(key(attachments=[{"sha256": "cd" * 32}])) is None


def test_a_hit_is_logged_with_the_original_tokens_at_no_cost(cache):
    cache.put(key(), entry())
    fields = cache.get(key()).usage_fields()
    assert fields["cached"] is True and fields["cost_usd"] == 0.0
    assert (fields["input_tokens"], fields["output_tokens"], fields["tokens_source"]) == (
        12,
        2,
        "provider",
    )
    assert (fields["provider"], fields["kind"], fields["status"]) == ("local", "llamacpp", "ok")


@pytest.mark.parametrize("finish", ["error", "interrupted"])
def test_a_failed_or_cut_answer_is_never_stored(cache, finish):
    assert not cache.put(key(), entry(finish_reason=finish))
    assert cache.get(key()) is None
    assert not os.path.exists(cache.dir) or os.listdir(cache.dir) == []


def test_an_answer_older_than_the_ttl_is_a_miss_and_is_removed(cache):
    t0 = time.time()
    cache.put(key(), entry(), now=t0)
    assert cache.get(key(), now=t0 + 3599) is not None
    assert cache.get(key(), now=t0 + 3600) is None
    assert os.listdir(cache.dir) == []


def test_a_hit_keeps_an_answer_in_use_but_not_past_its_ttl(cache):
    t0 = time.time()
    cache.put(key(), entry(), now=t0)
    cache.get(key(), now=t0 + 3000)  # touched: recently used
    assert cache.get(key(), now=t0 + 3700) is None  # still created at t0


# ---------------------------------------------------------------- size cap


def test_the_least_recently_used_answers_go_first_when_the_cache_is_full(tmp_path):
    probe = Cache(tmp_path / "probe")
    probe.put(key(), entry())
    size = os.path.getsize(os.path.join(probe.dir, key() + ".json"))
    cache = Cache(tmp_path / "responses", ttl=86400, max_bytes=int(size * 3.5))
    keys = {name: key(system=name) for name in "abcd"}
    now = time.time()
    for age, name in ((300, "a"), (200, "b"), (100, "c")):
        cache.put(keys[name], entry())
        cache.touch(keys[name], now=now - age)
    assert cache.get(keys["a"]) is not None  # used now: the most recent
    cache.put(keys["d"], entry())  # four do not fit: "b" was used least recently
    assert cache.get(keys["b"]) is None
    assert all(cache.get(keys[n]) is not None for n in "acd")


def test_an_entry_larger_than_the_cap_is_not_kept_at_the_expense_of_the_others(tmp_path):
    cache = Cache(tmp_path / "responses", ttl=86400, max_bytes=2000)
    cache.put(key(), entry("small"))
    cache.put(key(system="big"), entry("x" * 5000))
    assert cache.get(key()) is not None


def test_prune_removes_expired_and_unreadable_entries_then_fits_the_cap(cache):
    t0 = time.time()
    cache.put(key(), entry(), now=t0 - 7200)  # created two hours ago: expired
    cache.put(key(system="fresh"), entry())
    with open(os.path.join(cache.dir, key(system="junk") + ".json"), "w") as f:
        f.write("{not json")
    removed, freed = cache.prune()
    assert removed == 2 and freed > 0
    assert cache.get(key(system="fresh")) is not None
    assert len(os.listdir(cache.dir)) == 1


def test_stats_and_clear(cache):
    cache.put(key(), entry(cost_usd=0.5))
    cache.put(key(system="other"), entry(cost_usd=0.25))
    s = cache.stats()
    assert (s.entries, s.expired, s.cost_usd) == (2, 0, 0.75)
    assert s.bytes == sum(
        os.path.getsize(os.path.join(cache.dir, n)) for n in os.listdir(cache.dir)
    )
    assert cache.clear() == (2, s.bytes)
    assert cache.stats().entries == 0


def test_a_temp_file_left_by_a_writer_that_died_is_cleaned_up(cache):
    cache.put(key(), entry())
    stale = os.path.join(cache.dir, f".{key()}.json.abc123.tmp")
    with open(stale, "w") as f:
        f.write('{"text": "half')
    os.utime(stale, (time.time() - 7200,) * 2)
    cache.stats()
    assert not os.path.exists(stale)
    assert cache.get(key()) is not None


# ---------------------------------------------------------------- broken entries


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b'{"format": 1, "key": "',
        b"\x00\xff garbage",
        b'{"format": 1, "text": 42}',
        b"[1, 2, 3]",
    ],
    ids=["empty", "truncated", "binary", "wrong-types", "not-an-object"],
)
def test_a_corrupt_entry_is_a_miss_is_removed_and_is_replaced(cache, content):
    os.makedirs(cache.dir)
    path = os.path.join(cache.dir, key() + ".json")
    with open(path, "wb") as f:
        f.write(content)
    assert cache.get(key()) is None
    assert not os.path.exists(path)
    cache.put(key(), entry())
    assert cache.get(key()).text == "Lima"


def test_an_entry_copied_under_another_key_is_not_served(cache):
    cache.put(key(), entry())
    os.rename(
        os.path.join(cache.dir, key() + ".json"), os.path.join(cache.dir, key(system="x") + ".json")
    )
    assert cache.get(key(system="x")) is None


def test_a_key_is_never_a_path(cache):
    with pytest.raises(ValueError):
        cache.get("../../etc/passwd")


def test_an_unwritable_cache_is_a_warning_not_a_failure(tmp_path, capsys):
    from rfctl import console

    console.reset()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = Cache(blocker / "responses")
    assert cache.put(key(), entry()) is False
    assert cache.get(key()) is None
    err = capsys.readouterr().err
    assert (
        err.startswith("rfctl: warning: cannot write the response cache") and err.count("\n") == 1
    )


# ---------------------------------------------------------------- parallel invocations


def _writer(directory: str, worker: int, rounds: int) -> None:
    c = Cache(directory, ttl=3600, max_bytes=40_000)  # small: pruning runs alongside
    for i in range(rounds):
        text = f"worker {worker} round {i} " + "x" * (200 * (i % 7))
        c.put(key(system="shared"), entry(text))
        c.put(key(system=f"w{worker}-{i % 5}"), entry(text))
        got = c.get(key(system="shared"))
        if got is not None and not got.text.startswith("worker "):
            raise SystemExit(3)


def test_parallel_writers_never_leave_a_corrupt_entry(tmp_path):
    directory = str(tmp_path / "responses")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(directory, w, 60)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    c = Cache(directory, ttl=3600, max_bytes=40_000)
    assert c.get(key(system="shared")).text.startswith("worker ")
    assert c.stats().expired == 0  # every file left is a whole, valid entry
    assert not [n for n in os.listdir(directory) if n.endswith(".tmp")]


# ---------------------------------------------------------------- start-up cost


def test_a_lookup_imports_no_writer_machinery(tmp_path):
    # A hit must cost about what `rfctl --version` does: the atomic writer
    # (tempfile, random) and everything heavy stay unimported on the read path.
    code = (
        "import sys\n"
        "from rfctl.cache import Cache, request_key\n"
        f"k = request_key('llamacpp', {URL!r}, 'm', {{'messages': [{{'role': 'user', 'content': 'x'}}]}})\n"
        f"Cache({str(tmp_path)!r}).get(k)\n"
        "heavy = {'tempfile', 'rfctl.atomic', 'requests', 'yaml', 'rich', 'tiktoken'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- rfctl cache


def test_rfctl_cache_stats_prune_clear(rfctl):
    c = Cache(None)  # the default directory, under the test's XDG_CACHE_HOME
    c.put(key(), entry())
    c.put(key(system="old"), entry(), now=time.time() - 30 * 86400)
    stats = rfctl("cache", "stats", "--json")
    assert stats.code == 0, stats.err
    data = json.loads(stats.out)
    assert (data["entries"], data["expired"]) == (2, 1)
    assert data["dir"] == c.dir
    pruned = rfctl("cache", "prune", "--format", "tsv")
    assert pruned.code == 0
    assert pruned.out.splitlines()[1].split("\t")[:2] == ["prune", "1"]
    cleared = rfctl("cache", "clear", "--json")
    assert json.loads(cleared.out)["removed"] == 1
    assert json.loads(rfctl("cache", "stats", "--json").out)["entries"] == 0


def test_rfctl_cache_needs_an_action(rfctl):
    r = rfctl("cache")
    assert r.code == 2 and r.err.startswith("rfctl: error:")
