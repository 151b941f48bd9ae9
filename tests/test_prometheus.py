"""Prometheus text exposition helpers, checked by promtool itself."""

from __future__ import annotations

import math
import os
import stat
import subprocess

import pytest
from conftest import require_tool

from rfctl.prometheus import (
    Family,
    Sample,
    escape_label_value,
    format_value,
    histogram_samples,
    render,
    write_atomic,
)


def promtool_check(text: str) -> subprocess.CompletedProcess:
    promtool = require_tool("promtool")
    return subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )


def test_label_values_are_escaped():
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_values_are_written_the_way_prometheus_parses_them():
    assert format_value(3) == "3"
    assert format_value(3.0) == "3"
    assert format_value(0.125) == "0.125"
    assert format_value(math.inf) == "+Inf"
    assert format_value(-math.inf) == "-Inf"
    assert format_value(math.nan) == "NaN"
    assert format_value(True) == "1"


def test_a_family_is_help_then_type_then_its_samples():
    fam = Family(
        "rfctl_up",
        "gauge",
        "1 when the provider answered.\nSecond line \\ here.",
        [Sample({"provider": 'we"ird'}, 1), Sample({"provider": "b"}, 0)],
    )
    assert render([fam]) == (
        "# HELP rfctl_up 1 when the provider answered.\\nSecond line \\\\ here.\n"
        "# TYPE rfctl_up gauge\n"
        'rfctl_up{provider="we\\"ird"} 1\n'
        'rfctl_up{provider="b"} 0\n'
    )


def test_bad_names_are_refused_rather_than_written():
    with pytest.raises(ValueError):
        render([Family("rfctl-up", "gauge", "x", [Sample({}, 1)])])
    with pytest.raises(ValueError):
        render([Family("rfctl_up", "gauge", "x", [Sample({"bad-label": "v"}, 1)])])
    with pytest.raises(ValueError):
        render([Family("rfctl_up", "gaug", "x")])


def test_histogram_buckets_are_cumulative_and_end_with_inf():
    samples = histogram_samples("d_seconds", {"p": "x"}, [0.5, 1.0], [2, 0, 3], 9.5)
    assert [(s.name, s.labels.get("le"), s.value) for s in samples] == [
        ("d_seconds_bucket", "0.5", 2),
        ("d_seconds_bucket", "1", 2),
        ("d_seconds_bucket", "+Inf", 5),
        ("d_seconds_sum", None, 9.5),
        ("d_seconds_count", None, 5),
    ]


def test_promtool_accepts_what_render_writes():
    fams = [
        Family(
            "rfctl_requests_total",
            "counter",
            "Attempts.",
            [Sample({"provider": 'a "quoted"\\name', "model": "line\nbreak"}, 7)],
        ),
        Family("rfctl_up", "gauge", "Up.", [Sample({}, 1)]),
        Family(
            "rfctl_request_duration_seconds",
            "histogram",
            "Duration.",
            histogram_samples(
                "rfctl_request_duration_seconds",
                {"provider": "a"},
                [0.1, 1.0, 10.0],
                [1, 2, 3, 4],
                55.25,
            ),
        ),
    ]
    proc = promtool_check(render(fams))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_write_atomic_replaces_the_file_readably_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "rfctl.prom"
    target.write_text("old\n")
    write_atomic(target, "new 1\n")
    assert target.read_text() == "new 1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # node_exporter runs as another user
    assert os.listdir(tmp_path) == ["rfctl.prom"]


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "rfctl.prom"
    target.write_text("old\n")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["rfctl.prom"]
