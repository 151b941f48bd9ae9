"""`rfctl usage`: aggregation equals a reference computation, every input
kind and every output format, time windows, filters and failure modes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import pty
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import require_tool
from usage_helpers import as_dicts, make_records, reference, write_log

from rfctl.cli import main
from rfctl.usage_stats import Sketch
from rfctl.usagelog import UsageRecord, format_ts

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def records():
    return make_records(3000, seed=7)


@pytest.fixture
def log(tmp_path, records):
    return write_log(tmp_path / "usage.jsonl", records)


def usage_json(capsys, *args) -> dict:
    assert main(["usage", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def key_of(group: dict, by: list[str]) -> tuple:
    return tuple(group[f] for f in by)


def assert_matches_reference(got: dict, want: dict):
    for name in (
        "ok",
        "errors",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "unpriced",
    ):
        assert got[name] == want[name], name
    assert got["cost_usd"] == pytest.approx(want["cost_usd"], abs=1e-8)
    for name in ("p50_ms", "p95_ms"):
        if want[name] is None:
            assert got[name] is None
        else:  # the histogram's promise: within 1%, plus the 0.1 ms output rounding
            assert abs(got[name] - want[name]) <= want[name] * Sketch.ALPHA * 1.000001 + 0.05


BYS = [
    [],
    ["provider"],
    ["model"],
    ["provider", "model"],
    ["status"],
    ["day"],
    ["hour"],
    ["provider", "status"],
    ["day", "provider", "model"],
]


@pytest.mark.parametrize("by", BYS, ids=lambda b: ",".join(b) or "total")
def test_aggregation_equals_a_reference_computation(capsys, log, records, by):
    args = ["--by", ",".join(by)] if by else []
    doc = usage_json(capsys, *args, str(log))
    want = reference(as_dicts(records), by)
    if not by:
        assert len(doc["groups"]) == 1
        assert_matches_reference(doc["groups"][0], want[()])
        assert_matches_reference(doc["total"], want[()])
        return
    assert doc["by"] == by
    got = {key_of(g, by): g for g in doc["groups"]}
    assert set(got) == set(want)
    for key in want:
        assert_matches_reference(got[key], want[key])
    assert list(got) == sorted(got, key=lambda k: tuple("" if v is None else v for v in k))
    assert doc["total"]["ok"] == sum(g["ok"] for g in doc["groups"])


def test_by_accepts_repeats_and_comma_lists(capsys, log):
    a = usage_json(capsys, "--by", "provider", "--by", "model", str(log))
    b = usage_json(capsys, "--by", "provider,model,provider", str(log))
    assert a == b and a["by"] == ["provider", "model"]


# ---------------------------------------------------------------- inputs


def test_gzip_files_stdin_and_several_files_together(tmp_path, rfctl, records):
    first, second = records[:1000], records[1000:]
    rotated = tmp_path / "usage.jsonl.1.gz"
    with gzip.open(rotated, "wt") as f:
        f.write("".join(r.to_json() + "\n" for r in first))
    current = write_log(tmp_path / "usage.jsonl", second)
    want = reference(as_dicts(records), [])[()]

    both = rfctl("usage", "--format", "json", str(rotated), str(current))
    assert both.code == 0, both.err
    assert_matches_reference(json.loads(both.out)["total"], want)

    piped = rfctl(
        "usage", "--format", "json", "-", input="".join(r.to_json() + "\n" for r in records)
    )
    assert json.loads(piped.out)["total"] == json.loads(both.out)["total"]

    # A compressed log piped in (zcat-free): detected by its magic bytes.
    proc = subprocess.run(
        [sys.executable, "-m", "rfctl", "usage", "--format", "json", "-"],
        input=rotated.read_bytes(),
        capture_output=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total"]["ok"] == reference(as_dicts(first), [])[()]["ok"]


def test_the_default_log_comes_from_the_environment_or_the_option(
    tmp_path, capsys, log, monkeypatch
):
    monkeypatch.setenv("RFCTL_USAGE_LOG", str(log))
    assert usage_json(capsys)["total"]["ok"] > 0
    monkeypatch.setenv("RFCTL_USAGE_LOG", str(tmp_path / "nothing-here.jsonl"))
    assert usage_json(capsys, "--usage-log", str(log))["total"]["ok"] > 0


def test_a_missing_default_log_is_an_empty_result(capsys):
    assert main(["usage"]) == 0
    out = capsys.readouterr()
    header, row = out.out.splitlines()
    assert header.startswith("ok\terrors\t")
    assert row.split("\t")[:2] == ["0", "0"]
    assert out.err == ""
    assert main(["usage", "--by", "provider"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "provider\tok\terrors\tinput_tokens\tcached_input_tokens\toutput_tokens\tcost_usd"
        "\tunpriced\tp50_ms\tp95_ms"
    ]


def test_a_missing_named_file_is_bad_input(tmp_path, rfctl):
    res = rfctl("usage", str(tmp_path / "nope.jsonl"))
    assert res.code == 65
    assert res.out == ""
    assert (
        res.err
        == f"rfctl: error: cannot read {tmp_path / 'nope.jsonl'}: No such file or directory\n"
    )


def test_invalid_lines_are_skipped_with_one_warning(tmp_path, rfctl, records):
    text = "".join(r.to_json() + "\n" for r in records[:10])
    log = tmp_path / "usage.jsonl"
    log.write_text("garbage\n" + text + '{"ts": 1}\n' + text + '{"ts":"2026-11-29T0')
    res = rfctl("usage", "--format", "json", str(log))
    assert res.code == 0
    assert json.loads(res.out)["total"]["ok"] + json.loads(res.out)["total"]["errors"] == 20
    assert res.err == "rfctl: warning: skipped 3 invalid lines (torn or not a usage record)\n"


def test_the_pure_json_fallback_gives_the_same_answer(tmp_path, rfctl, log):
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "msgspec.py").write_text("raise ImportError('hidden by the test')\n")
    path = os.pathsep.join(p for p in (str(hide), os.environ.get("PYTHONPATH")) if p)
    args = ("usage", "--by", "day,provider,model", "--format", "json", str(log))
    fast, slow = rfctl(*args), rfctl(*args, env={"PYTHONPATH": path})
    assert slow.code == 0, slow.err
    assert slow.out == fast.out


# ---------------------------------------------------------------- windows and filters


def test_since_and_until_take_durations_and_dates(tmp_path, capsys):
    now = datetime.now(UTC)
    # Offset by 7 minutes: no record sits on a boundary the command computes a moment later.
    start = now - timedelta(hours=100, minutes=7)
    recs = make_records(200, seed=2, start=start, step=timedelta(hours=0.5))
    log = write_log(tmp_path / "usage.jsonl", recs)
    dicts = as_dicts(recs)

    def count(*args):
        t = usage_json(capsys, *args, str(log))["total"]
        return t["ok"] + t["errors"]

    cutoff = format_ts(now - timedelta(hours=24))
    assert count("--since", "24h") == sum(d["ts"] >= cutoff for d in dicts)
    assert count("--since", "1d") == count("--since", "24h") == count("--since", "1440m")
    assert count("--until", "24h") == 200 - count("--since", "24h")  # until is exclusive

    day = recs[100].ts[:10]
    next_day = format_ts(datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1))
    in_day = sum(day <= d["ts"] < next_day for d in dicts)
    assert count("--since", day, "--until", next_day[:10]) == in_day
    # A zone is honoured; no zone means UTC, like the log.
    assert count("--since", f"{day}T01:00:00+01:00", "--until", next_day[:10]) == in_day
    assert count("--since", "today") == sum(d["ts"] >= now.strftime("%Y-%m-%d") for d in dicts)


def test_bad_options_are_usage_errors(rfctl, log):
    for args, message in [
        (("--since", "last tuesday"), "--since 'last tuesday': use a duration like 30m"),
        (("--by", "provider,colour"), "--by 'colour': choose from provider, model, day, hour"),
        (("--format", "prometheus", "--by", "model"), "--by does not apply to --format prometheus"),
    ]:
        res = rfctl("usage", *args, str(log))
        assert res.code == 2, res.err
        assert res.err.startswith("rfctl: error: " + message)


def test_provider_and_model_filters(capsys, log, records):
    dicts = as_dicts(records)
    doc = usage_json(capsys, "--provider", "claude,ollama", "--by", "provider", str(log))
    assert {g["provider"] for g in doc["groups"]} == {"claude", "ollama"}
    doc = usage_json(capsys, "--model", "gpt-4.1", "--model", "qwen3-coder", str(log))
    assert doc["total"]["ok"] == sum(
        d["status"] == "ok" and d["model"] in ("gpt-4.1", "qwen3-coder") for d in dicts
    )


# ---------------------------------------------------------------- formats


def test_tsv_is_the_default_into_a_pipe_and_csv_says_the_same(log, rfctl):
    tsv = rfctl("usage", "--by", "provider,model", str(log))
    rows = [line.split("\t") for line in tsv.out.splitlines()]
    assert rows[0][:3] == ["provider", "model", "ok"]
    assert all(len(row) == 11 for row in rows)  # a newline in a name cannot break a row
    with_csv = rfctl("usage", "--by", "provider,model", "--format", "csv", str(log))
    from_csv = list(csv.reader(io.StringIO(with_csv.out)))  # csv quotes instead
    assert [[cell.replace("\n", " ") for cell in row] for row in from_csv] == rows
    assert ['we"ird\\prov', "line\nbreak"] in [row[:2] for row in from_csv]
    bare = rfctl("usage", "--by", "provider,model", "--no-header", str(log))
    assert bare.out.splitlines() == tsv.out.splitlines()[1:]


def test_hour_groups_print_as_a_time(capsys, log):
    assert main(["usage", "--by", "hour", str(log)]) == 0
    first = capsys.readouterr().out.splitlines()[1]
    assert first.split("\t")[0] == "2026-11-20T22:00Z"


def tty_run(*args: str, env: dict | None = None) -> str:
    """Run rfctl with its stdout on a pseudo-terminal; return what it printed."""
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rfctl", *args],
        stdout=child_fd,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    os.close(child_fd)
    out = b""
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(main_fd)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    return out.decode()


def test_a_terminal_gets_a_table_and_no_color_is_honoured(log):
    plain = tty_run("usage", "--by", "provider", str(log), env={"NO_COLOR": "1"})
    assert "provider" in plain and "claude" in plain and "total" in plain
    assert "\t" not in plain
    assert "\x1b[" not in plain
    coloured = tty_run(
        "usage", "--by", "provider", str(log), env={"NO_COLOR": "", "TERM": "xterm-256color"}
    )
    assert "\x1b[" in coloured


def test_the_terminal_table_prints_names_verbatim(tmp_path, rfctl, records):
    # Names are data: square brackets must not be taken for rich markup.
    names = [("[redacted]", "m[bold]x[/bold]y"), ("p[/]", "[link=http://x]y")]
    recs = [
        replace(r, provider=names[i % 2][0], model=names[i % 2][1])
        for i, r in enumerate(records[:20])
    ]
    log = write_log(tmp_path / "usage.jsonl", recs)
    res = rfctl(
        "usage",
        "--by",
        "provider,model",
        "--format",
        "table",
        str(log),
        env={"FORCE_COLOR": "1", "COLUMNS": "200"},  # rich renders as for a terminal
    )
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    for provider, model in names:
        (row,) = [line for line in lines if line.startswith(provider + " ")]
        cells = row.split()
        assert cells[:2] == [provider, model]
        assert int(cells[2]) + int(cells[3]) == 10  # ok + errors
    total = lines[-1].split()  # the totals row, under a rule
    assert total[0] == "total" and int(total[1]) + int(total[2]) == 20
    assert set(lines[-2]) == {"─"}
    assert "\x1b[" not in res.out  # NO_COLOR (set by conftest): no escape sequences


def parse_prometheus(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_prometheus_output_is_valid_and_adds_up(log, records, rfctl):
    res = rfctl("usage", "--format", "prometheus", str(log))
    assert res.code == 0, res.err
    promtool = require_tool("promtool")
    check = subprocess.run(
        [promtool, "check", "metrics"], input=res.out, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr

    dicts = as_dicts(records)
    samples = parse_prometheus(res.out)

    def total(prefix, **labels):
        want = [f'{k}="{v}"' for k, v in labels.items()]
        return sum(
            v
            for k, v in samples.items()
            if k.startswith(prefix + "{") and all(w in k for w in want)
        )

    assert total("rfctl_requests_total") == len(dicts)
    assert total("rfctl_requests_total", status="error") == sum(
        d["status"] == "error" for d in dicts
    )
    assert total("rfctl_tokens_total", type="output") == sum(
        d.get("output_tokens") or 0 for d in dicts
    )
    assert total("rfctl_cost_usd_total") == pytest.approx(sum(d["cost_usd"] or 0 for d in dicts))
    assert samples["rfctl_unpriced_requests_total"] == sum(d["cost_usd"] is None for d in dicts)
    assert samples["rfctl_fallbacks_total"] == sum(
        d["status"] == "ok" and d["attempt"] > 1 for d in dicts
    )
    assert total("rfctl_request_duration_seconds_count") == len(dicts)
    assert total("rfctl_request_duration_seconds_bucket", le="+Inf") == len(dicts)
    assert total("rfctl_request_duration_seconds_sum") == pytest.approx(
        sum(d["latency_ms"] for d in dicts) / 1000
    )
    le1 = total("rfctl_request_duration_seconds_bucket", le="1")
    assert le1 == sum(d["latency_ms"] <= 1000 for d in dicts)
    # Label values with quotes, backslashes and newlines come out escaped.
    assert 'provider="we\\"ird\\\\prov",model="line\\nbreak"' in res.out


def test_prometheus_output_for_an_empty_log_is_still_valid(tmp_path, rfctl):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    res = rfctl("usage", "--format", "prometheus", str(empty))
    assert res.code == 0
    assert "rfctl_fallbacks_total 0" in res.out
    promtool = require_tool("promtool")
    check = subprocess.run(
        [promtool, "check", "metrics"], input=res.out, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_cache_hits_show_what_they_saved_and_stay_out_of_latency(tmp_path, rfctl):
    log = tmp_path / "usage.jsonl"
    paid = dict(
        ts="2026-11-29T01:00:00.000Z", provider="claude", kind="anthropic", model="m", status="ok"
    )
    lines = [
        UsageRecord(**paid, request_id="a", latency_ms=800.0, cost_usd=0.02),
        UsageRecord(
            **paid, request_id="b", latency_ms=1.0, cost_usd=0.0, cached=True, saved_usd=0.02
        ),
    ]
    log.write_text("".join(r.to_json() + "\n" for r in lines))
    run = rfctl("usage", str(log), "--format", "json")
    assert run.code == 0, run.err
    total = json.loads(run.out)["total"]
    assert total["ok"] == 2 and total["cached"] == 1
    assert total["cost_usd"] == 0.02 and total["saved_usd"] == 0.02
    assert 700 < total["p50_ms"] < 900  # the hit's 1 ms says nothing of the provider
    tsv = rfctl("usage", str(log), "--format", "tsv")
    assert "saved" not in tsv.out  # the TSV columns stay as they were
