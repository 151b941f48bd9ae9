"""The usage-log readers over arbitrary bytes, plain and gzipped: valid records
survive any garbage around them, every skipped line is counted, a .gz cut
short keeps what came before the cut, and nothing raises. The tail queries
on the generate path (spent_today, recent_latency_p50) never raise either."""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fuzz_helpers import any_text, fuzz, json_values, utf8_text
from hypothesis import example, given
from hypothesis import strategies as st

from rfctl import usagelog
from rfctl.usagelog import Counter, UsageRecord, iter_blocks, iter_records

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PATHS = pytest.mark.parametrize("fast", [True, False], ids=["msgspec", "json"])


def records():
    """Records as our writer writes them (to_json), today's date so tail queries count them."""
    text = utf8_text(12)
    return st.builds(
        UsageRecord,
        ts=st.integers(0, 86_399_999).map(
            lambda ms: usagelog.format_ts(NOW.replace(hour=0, minute=0) + _ms(ms))
        ),
        request_id=text,
        provider=text,
        kind=text,
        model=st.none() | text,
        status=st.sampled_from(["ok", "error"]),
        attempt=st.integers(1, 5),
        input_tokens=st.none() | st.integers(0, 10**6),
        output_tokens=st.none() | st.integers(0, 10**6),
        latency_ms=st.floats(0, 1e6),
        cost_usd=st.none() | st.floats(0, 100),
    )


def _ms(ms: int):
    from datetime import timedelta

    return timedelta(milliseconds=ms)


def garbage_lines():
    """Lines that are never a valid record: torn records, wrong types, noise."""
    torn = st.builds(
        lambda r, k: r.to_json()[: max(1, k % len(r.to_json()))], records(), st.integers(0, 10**6)
    )
    wrong = st.sampled_from(
        [
            "[]",
            '"a string"',
            "null",
            '{"ts": 1, "provider": "p", "status": "ok"}',
            '{"ts": "t", "provider": "p"}',
            '{"ts": "t", "provider": "p", "status": "ok", "attempt": true}',
            '{"ts": "t", "provider": "p", "status": "ok", "input_tokens": 1.5}',
            '{"ts": "t", "provider": "p", "status": "ok", "latency_ms": "fast"}',
            '{"ts": "t", "provider": "p", "status": "ok", "model": 7}',
        ]
    )
    noise = st.binary(min_size=1, max_size=40).map(lambda b: b"\xff" + b.replace(b"\n", b" "))
    return st.one_of(torn.map(str.encode), wrong.map(str.encode), noise)


def write(tmp: Path, name: str, data: bytes, gz: bool = False) -> Path:
    path = tmp / name
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def read(paths, fast: bool):
    counter = Counter()
    got = list(iter_records(paths, counter, fast=fast))
    return got, counter


def key(rec) -> tuple:
    return (
        rec.ts,
        rec.provider,
        rec.status,
        rec.model,
        rec.attempt,
        rec.input_tokens,
        rec.output_tokens,
        rec.latency_ms,
        rec.cost_usd,
    )


def expected_key(r: UsageRecord) -> tuple:
    d = json.loads(r.to_json())
    return (
        d["ts"],
        d["provider"],
        d["status"],
        d.get("model"),
        d.get("attempt", 1),
        d.get("input_tokens"),
        d.get("output_tokens"),
        d.get("latency_ms", 0.0),
        d["cost_usd"],
    )


# ---------------------------------------------------------------- iter_records


@PATHS
@fuzz(40)
@given(
    lines=st.lists(st.tuples(st.booleans(), records(), garbage_lines()), max_size=12),
    gz=st.booleans(),
    eol=st.sampled_from([b"\n", b"\r\n"]),
)
def test_valid_records_survive_garbage_and_each_bad_line_is_counted(fast, lines, gz, eol):
    data, want, bad = b"", [], 0
    for is_record, rec, junk in lines:
        if is_record:
            data += rec.to_json().encode() + eol
            want.append(expected_key(rec))
        else:
            data += junk + eol
            bad += 1
    with tempfile.TemporaryDirectory() as tmp:
        got, counter = read([write(Path(tmp), "log", data, gz)], fast)
    assert [key(r) for r in got] == want
    assert counter.skipped == bad
    assert counter.problems == []


@PATHS
@fuzz(60)
@given(data=st.binary(max_size=300), gz=st.booleans())
def test_any_bytes_are_read_without_raising(fast, data, gz):
    with tempfile.TemporaryDirectory() as tmp:
        got, counter = read([write(Path(tmp), "log", data, gz)], fast)
    if not counter.problems:  # a file that only looks gzipped is one problem, not lines
        lines = [line for line in data.split(b"\n") if line.strip()]
        assert len(got) + counter.skipped == len(lines)


@PATHS
@pytest.mark.parametrize(
    "line",
    [
        b"[" * 100_000,
        b'{"ts":"t","provider":"p","status":"ok","x":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    ],
    ids=["deep-array", "deep-unknown-field"],
)
def test_a_line_nested_too_deep_is_skipped_and_counted(fast, line, tmp_path):
    ok = UsageRecord("2026-11-29T01:00:00.000Z", "r", "p", "k", "m", "ok").to_json().encode()
    got, counter = read([write(tmp_path, "log", ok + b"\n" + line + b"\n" + ok + b"\n")], fast)
    assert len(got) == 2
    assert counter.skipped == 1


@fuzz(50)
@given(st.lists(any_text(8) | json_values().map(json.dumps), max_size=8))
@example(['{"ts":"t","provider":"p","status":"ok","cost_usd":NaN}'])
@example(['{"ts":"t","provider":"p","status":"ok","latency_ms":1e400}'])
def test_both_decoders_keep_and_skip_the_same_lines(lines):
    # `rfctl usage` must add up the same whether or not msgspec is installed.
    objs = [json.dumps({"ts": "t", "provider": "p", "status": "ok", "x": v}) for v in lines]
    data = "\n".join(lines + objs).encode("utf-8", "surrogatepass")
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), "log", data)
        fast, fast_counter = read([path], True)
        slow, slow_counter = read([path], False)
    assert [key(r) for r in fast] == [key(r) for r in slow]
    assert fast_counter.skipped == slow_counter.skipped


@PATHS
@fuzz(30)
@given(recs=st.lists(records(), min_size=1, max_size=10), data=st.data())
def test_a_gz_cut_anywhere_keeps_the_records_before_the_cut(fast, recs, data):
    raw = gzip.compress(b"".join(r.to_json().encode() + b"\n" for r in recs))
    cut = data.draw(st.integers(0, len(raw) - 1))
    with tempfile.TemporaryDirectory() as tmp:
        got, counter = read(
            [write(Path(tmp), "log.gz", raw[:cut]), write(Path(tmp), "next", b"")], fast
        )
    want = [expected_key(r) for r in recs]
    assert [key(r) for r in got] == want[: len(got)]
    assert len(counter.problems) <= 1


@fuzz(60)
@given(data=st.binary(max_size=400), size=st.integers(1, 64))
def test_blocks_are_whole_lines_and_lose_nothing(data, size):
    blocks = [bytes(b) for b in iter_blocks(io.BytesIO(data), size)]
    assert b"".join(blocks) == data
    for b in blocks[:-1]:
        assert b.endswith(b"\n")


# ---------------------------------------------------------------- tail queries


def tail_lines():
    """Lines a foreign or damaged log might hold, in our writer's layout or not."""
    values = json_values(max_leaves=4)
    foreign = st.fixed_dictionaries(
        {},
        optional={
            "ts": st.sampled_from(["2026-11-29T10:00:00.000Z", "2026-11-28T10:00:00.000Z"])
            | values,
            "provider": st.sampled_from(["p", 'a"b']) | values,
            "status": st.just("ok") | values,
            "latency_ms": st.floats(0, 1e4) | values,
            "cost_usd": st.floats(0, 1) | values,
        },
    ).map(json.dumps)
    return st.one_of(foreign, records().map(UsageRecord.to_json), any_text(30))


def tail_queries(lines: list[str]):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), "log", "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n")
        spent = usagelog.spent_today(path, now=NOW)
        p50 = usagelog.recent_latency_p50(path, ["p", 'a"b', "x"])
    assert isinstance(spent, float)
    assert all(isinstance(v, float) for v in p50.values())
    return spent, p50


@fuzz(60)
@given(st.lists(tail_lines(), max_size=10))
def test_tail_queries_never_raise(lines):
    tail_queries(lines)


DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize(
    "line",
    [
        '{"status":"ok","provider":{"a":1},"latency_ms":1}',  # an unhashable provider
        '{"status":"ok","provider":"a\\"b","latency_ms":' + "1" * 400 + "}",  # too big for a float
        '{"ts":' + DEEP + "}",
        '{"status":"ok","provider":"a\\"b","latency_ms":1,"x":' + DEEP + "}",
    ],
    ids=["provider-object", "latency-400-digits", "deep-ts", "deep-latency-line"],
)
def test_tail_queries_skip_lines_they_cannot_read(line):
    ok = UsageRecord(
        "2026-11-29T10:00:00.000Z", "r", "p", "k", "m", "ok", latency_ms=5.0, cost_usd=0.25
    )
    spent, p50 = tail_queries([ok.to_json(), line])
    assert spent == 0.25
    assert p50 == {"p": 5.0}


def test_tail_queries_on_a_missing_log(tmp_path):
    path = tmp_path / "none.jsonl"
    assert usagelog.spent_today(path, now=NOW) == 0.0
    assert usagelog.recent_latency_p50(path, ["p"]) == {}
    assert not os.path.exists(path)
