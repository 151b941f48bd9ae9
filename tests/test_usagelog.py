"""The usage log: record format, safe concurrent appends, tolerant readers,
and the tail queries the router and budgets use."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from usage_helpers import make_records, write_log

from rfctl import usagelog
from rfctl.usagelog import UsageRecord, append, format_ts

REPO = Path(__file__).resolve().parent.parent

FIELD_ORDER = [
    "ts",
    "request_id",
    "provider",
    "kind",
    "model",
    "status",
    "error",
    "http_status",
    "attempt",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "tokens_source",
    "latency_ms",
    "ttft_ms",
    "cost_usd",
    "stream",
    "finish_reason",
    # Fields of 0.2, each written only when it applies.
    "probe",
    "cached",
    "reasoning_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "attachments",
    "attachment_bytes",
    "price_source",
    "fallback",
    "saved_usd",
]


def record(**kw) -> UsageRecord:
    base = dict(
        ts="2026-11-29T01:30:06.123Z",
        request_id="abc",
        provider="ollama",
        kind="ollama",
        model="qwen3-coder",
        status="ok",
        attempt=1,
        input_tokens=12,
        output_tokens=80,
        tokens_source="provider",
        latency_ms=812.4,
        cost_usd=0.0,
        stream=False,
        finish_reason="stop",
    )
    return UsageRecord(**{**base, **kw})


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


# ---------------------------------------------------------------- the record


def test_fields_are_in_line_order():
    from dataclasses import fields

    assert [f.name for f in fields(UsageRecord)] == FIELD_ORDER


def test_a_record_is_one_compact_line_in_field_order_without_unknowns():
    full = record(
        status="error",
        error="http 529 overloaded_error: Overloaded",
        http_status=529,
        cached_input_tokens=3,
        ttft_ms=95.14,
        stream=True,
        probe=True,
        cached=False,
        reasoning_tokens=40,
        cache_write_tokens=0,
        cache_write_1h_tokens=0,
        cache_read_tokens=3,
        attachments=1,
        attachment_bytes=2048,
        price_source="builtin",
        fallback=True,
        saved_usd=0.0025,
    )
    line = full.to_json()
    assert "\n" not in line
    assert line == json.dumps(json.loads(line), separators=(",", ":"))  # compact
    assert list(json.loads(line)) == FIELD_ORDER

    minimal = json.loads(record(cost_usd=None, tokens_source=None, input_tokens=None).to_json())
    assert "error" not in minimal and "http_status" not in minimal and "ttft_ms" not in minimal
    assert "input_tokens" not in minimal
    # cost_usd is always there: null means "price unknown", never absent or a guessed 0.
    assert "cost_usd" in minimal and minimal["cost_usd"] is None


def test_ts_is_utc_with_milliseconds():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", usagelog.now_iso())
    dt = datetime(2026, 11, 29, 2, 30, 6, 123999, tzinfo=UTC).astimezone()
    assert format_ts(dt) == "2026-11-29T02:30:06.123Z"


def test_error_text_is_one_short_line_without_secrets():
    text = "http 401: invalid x-api-key sk-ant-abcdefghijklmnop\n" + "x" * 1000
    logged = json.loads(record(status="error", error=text).to_json())["error"]
    assert "\n" not in logged and len(logged) <= 300
    assert "sk-ant-abcdefghijklmnop" not in logged


def test_non_ascii_is_escaped_so_every_reader_gets_the_same_bytes():
    line = record(status="error", error="modèle introuvable").to_json()
    assert line.isascii()
    assert json.loads(line)["error"] == "modèle introuvable"


# ---------------------------------------------------------------- appending


def test_append_creates_the_private_directory_and_the_file(tmp_path):
    log = tmp_path / "state" / "rfctl" / "usage.jsonl"
    assert append(log, record()) is True
    assert append(log, record(request_id="def")) is True
    assert [json.loads(line)["request_id"] for line in read_lines(log)] == ["abc", "def"]
    assert (log.parent.stat().st_mode & 0o777) == 0o700
    assert (log.stat().st_mode & 0o077) == 0


def test_a_log_that_cannot_be_written_is_one_warning_not_an_exception(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert append(blocker / "usage.jsonl", record()) is False
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"rfctl: warning: cannot write usage log {blocker / 'usage.jsonl'}: ")

    assert append(tmp_path, record()) is False  # a directory where the file should be
    assert "cannot write usage log" in capsys.readouterr().err


def test_append_after_a_torn_line_starts_a_fresh_line(tmp_path):
    log = tmp_path / "usage.jsonl"
    log.write_text(record().to_json() + "\n" + '{"ts":"2026-11-29T01:30:07.000Z","req')
    append(log, record(request_id="after"))
    lines = read_lines(log)
    assert len(lines) == 3
    assert json.loads(lines[2])["request_id"] == "after"  # not glued to the torn line


WRITER = textwrap.dedent("""
    import os, sys, time
    from rfctl.usagelog import UsageRecord, append, now_iso
    log, go, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    while not os.path.exists(go):
        time.sleep(0.001)
    for i in range(count):
        append(log, UsageRecord(ts=now_iso(), request_id=f"w{worker}-{i}", provider="p",
                                kind="stub", model="m", status="error",
                                error="e" * 250, latency_ms=1.0, cost_usd=0.0))
""")


def test_sixteen_concurrent_writers_leave_exactly_every_line_intact(tmp_path):
    log, go = tmp_path / "usage.jsonl", tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(log), str(go), str(w), "200"], cwd=REPO)
        for w in range(16)
    ]
    time.sleep(0.5)  # let every interpreter start, then release them together
    go.touch()
    assert all(p.wait(timeout=120) == 0 for p in procs)

    lines = log.read_bytes().split(b"\n")
    assert lines[-1] == b""
    ids = [json.loads(line)["request_id"] for line in lines[:-1]]  # every line valid JSON
    assert len(ids) == 3200
    assert set(ids) == {f"w{w}-{i}" for w in range(16) for i in range(200)}


def test_a_writer_killed_mid_run_leaves_a_log_that_usage_still_reads(tmp_path, rfctl):
    log, go = tmp_path / "usage.jsonl", tmp_path / "go"
    go.touch()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(log), str(go), "1", "1000000"], cwd=REPO
    )
    deadline = time.monotonic() + 30
    while (not log.exists() or log.stat().st_size < 50_000) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    whole = log.read_bytes().count(b"\n")
    # A crash in the middle of a write (say, the disk filled up) leaves a torn last line.
    with open(log, "ab") as f:
        f.write(b'{"ts":"2026-11-29T01:30:07.000Z","request_id":"torn","prov')

    res = rfctl("usage", "--format", "json", str(log))
    assert res.code == 0, res.err
    assert json.loads(res.out)["total"]["errors"] == whole
    assert "skipped 1 invalid line" in res.err


def test_writing_imports_nothing_heavy(tmp_path):
    # The log is written on every generate call, whose start-up time matters.
    code = textwrap.dedent(f"""
        import sys
        from rfctl.usagelog import UsageRecord, append, now_iso, spent_today
        append({str(tmp_path / "u.jsonl")!r}, UsageRecord(now_iso(), "r", "p", "stub", "m", "ok"))
        spent_today({str(tmp_path / "u.jsonl")!r})
        print(sorted(m for m in ("msgspec", "gzip", "tiktoken", "rich", "yaml") if m in sys.modules))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- reading


@pytest.fixture(params=[True, False], ids=["msgspec", "json"])
def fast(request):
    if request.param:
        pytest.importorskip("msgspec")
    return request.param


def test_readers_skip_and_count_invalid_lines_but_not_blank_ones(tmp_path, fast):
    good = [record(request_id=str(i)) for i in range(3)]
    log = tmp_path / "usage.jsonl"
    log.write_text(
        "\n".join(
            [
                good[0].to_json(),
                "",
                "not json",
                '{"ts": "2026-11-29T01:30:06.123Z", "provider": 5, "status": "ok"}',  # wrong type
                '{"provider": "x", "status": "ok"}',  # no ts
                good[1].to_json(),
                "[1, 2]",
                '{"ts": "2026-11-29T01:30:06.123Z", "provider": "p", "status": "ok", '
                '"latency_ms": null}',
                '{"ts": "2026-11-29T01:30:06.123Z", "provider": "p", "status": "ok", '
                '"attempt": 1.5}',
                '{"ts": "2026-11-29T01:30:06.123Z", "provider": "p", "status": "ok", '
                '"input_tokens": true}',
                good[2].to_json(),
                # The least a record needs: the rest takes defaults.
                '{"ts": "2026-11-29T01:30:06.123Z", "provider": "p", "status": "ok"}',
                '{"ts":"2026-11-29T01:30:06.123Z","provider":"torn',
            ]
        )
    )
    counter = usagelog.Counter()
    recs = list(usagelog.iter_records([log], counter, fast=fast))
    assert [r.latency_ms for r in recs] == [812.4] * 3 + [0.0]
    assert (recs[-1].attempt, recs[-1].model, recs[-1].cost_usd) == (1, None, None)
    assert counter.skipped == 8


def test_both_readers_decode_the_same_fields_to_the_same_values(tmp_path):
    pytest.importorskip("msgspec")
    log = write_log(tmp_path / "usage.jsonl", make_records(300))
    names = usagelog.Rec.__slots__  # derived from UsageRecord, like msgspec's Struct
    assert set(names) >= {"ts", "provider", "model", "status", "latency_ms", "cost_usd"}

    def decoded(fast):
        return [
            tuple(getattr(r, n) for n in names) for r in usagelog.iter_records([log], fast=fast)
        ]

    assert decoded(True) == decoded(False)
    assert len(decoded(True)) == 300


def test_readers_read_gzip_whatever_its_name_and_lines_longer_than_a_block(
    tmp_path, fast, monkeypatch
):
    monkeypatch.setattr(usagelog, "BLOCK", 64)  # every record spans several reads
    records = make_records(50)
    rotated = tmp_path / "usage.jsonl.1"  # gzip detected by content, not by name
    with gzip.open(rotated, "wt") as f:
        f.write("".join(r.to_json() + "\n" for r in records[:30]))
    plain = write_log(tmp_path / "usage.jsonl", records[30:])
    counter = usagelog.Counter()
    got = list(usagelog.iter_records([rotated, plain], counter, fast=fast))
    assert [r.ts for r in got] == [r.ts for r in records]
    assert counter.skipped == 0


def test_a_truncated_gzip_keeps_what_was_read_and_says_so(tmp_path):
    data = gzip.compress("".join(r.to_json() + "\n" for r in make_records(2000)).encode())
    cut = tmp_path / "usage.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    counter = usagelog.Counter()
    got = list(usagelog.iter_records([cut], counter))
    assert 0 < len(got) < 2000
    assert counter.problems and str(cut) in counter.problems[0]


# ---------------------------------------------------------------- tail queries


def test_spent_today_sums_only_todays_costs(tmp_path):
    now = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    midnight = datetime(2026, 11, 29, tzinfo=UTC)
    log = tmp_path / "usage.jsonl"
    lines = [
        record(ts=format_ts(midnight - timedelta(hours=30 - i)), cost_usd=1.0).to_json()
        for i in range(20)
    ]  # yesterday and before: not counted
    lines.append(record(ts=format_ts(midnight + timedelta(minutes=5)), cost_usd=0.25).to_json())
    # A long attempt that ended before midnight, written after a record of today.
    lines.append(record(ts=format_ts(midnight - timedelta(minutes=2)), cost_usd=7.0).to_json())
    lines.append(record(ts=format_ts(midnight + timedelta(hours=2)), cost_usd=0.5).to_json())
    lines.append(record(ts=format_ts(midnight + timedelta(hours=3)), cost_usd=None).to_json())
    lines.append('{"ts":"2026-11-29T14:00:00.000Z","cost_usd":0.1,"tor')  # torn: unreadable
    log.write_text("\n".join(lines))
    assert usagelog.spent_today(log, now=now) == pytest.approx(0.75)


def test_spent_today_stops_reading_an_hour_before_midnight(tmp_path):
    now = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    log = tmp_path / "usage.jsonl"
    ancient = record(ts="2026-11-27T10:00:00.000Z", cost_usd=1.0).to_json() + "\n"
    log.write_text(
        "garbage that would be slow to parse\n" * 1000
        + ancient
        + record(ts="2026-11-29T10:00:00.000Z", cost_usd=2.0).to_json()
        + "\n"
    )
    assert usagelog.spent_today(log, now=now) == 2.0
    assert usagelog.spent_today(tmp_path / "missing.jsonl") == 0.0


def test_recent_latency_p50_uses_the_most_recent_ok_attempts(tmp_path):
    log = tmp_path / "usage.jsonl"
    recs = [record(provider="a", latency_ms=10_000.0) for _ in range(50)]  # old: outside window
    recs += [record(provider="a", latency_ms=float(ms)) for ms in (100, 200, 300)]
    recs += [record(provider="b", latency_ms=float(ms)) for ms in (1000, 3000)]
    recs += [record(provider="b", status="error", latency_ms=1.0)]  # errors do not count
    recs += [record(provider="c", latency_ms=5.0)]  # not asked for
    recs += [record(provider='wé"ird', latency_ms=7.0)]  # escaped in JSON
    write_log(log, recs)
    got = usagelog.recent_latency_p50(log, ["a", "b", "d", 'wé"ird'], max_records=3)
    assert got == {"a": 200.0, "b": 2000.0, 'wé"ird': 7.0}
    assert usagelog.recent_latency_p50(tmp_path / "missing", ["a"]) == {}


def test_recent_latency_p50_reads_a_bounded_tail(tmp_path):
    log = tmp_path / "usage.jsonl"
    write_log(
        log,
        [record(provider="old", latency_ms=1.0)] + [record(provider="new", latency_ms=2.0)] * 2000,
    )
    got = usagelog.recent_latency_p50(log, ["old", "new"], max_bytes=64 << 10)
    assert got == {"new": 2.0}  # 'old' is beyond the bytes it may read


def test_tail_reader_returns_every_line_backwards(tmp_path, monkeypatch):
    monkeypatch.setattr(usagelog, "_TAIL_BLOCK", 7)
    log = tmp_path / "f"
    lines = [f"line {i} " + "x" * (i % 13) for i in range(200)]
    log.write_text("\n".join(lines) + "\n")
    assert [b.decode() for b in usagelog._lines_backwards(log)] == lines[::-1]
    assert os.path.getsize(log) > 1000
