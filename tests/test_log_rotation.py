"""Log rotation as logrotate does it (rename, no signal): rfctl opens the
usage log for each record, so the write after a rename creates a new file
and nothing is lost; the rotated and the new file total together."""

from __future__ import annotations

import json

from rfctl import config


def test_renaming_the_log_between_two_writes_loses_nothing(rfctl, tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv("RFCTL_USAGE_LOG", str(log))
    assert config.resolve_paths().usage_log == log
    assert rfctl("generate", "-p", "stub", "first").code == 0
    log.rename(tmp_path / "log.jsonl.1")  # what logrotate's default (create) mode does
    assert not log.exists()
    assert rfctl("generate", "-p", "stub", "second").code == 0
    assert rfctl("generate", "-p", "stub", "third").code == 0

    rotated = (tmp_path / "log.jsonl.1").read_text().splitlines()
    current = log.read_text().splitlines()
    assert (len(rotated), len(current)) == (1, 2)  # the next write made a new file
    assert all(json.loads(line)["status"] == "ok" for line in rotated + current)

    run = rfctl("usage", str(tmp_path / "log.jsonl.1"), str(log), "--format", "json")
    assert run.code == 0 and run.err == ""
    total = json.loads(run.out)["total"]
    assert total["ok"] == 3 and total["errors"] == 0
    one = json.loads(rfctl("usage", str(log), "--format", "json").out)["total"]
    assert one["ok"] == 2


def test_a_compressed_rotation_totals_with_the_live_log(rfctl, tmp_path, monkeypatch):
    import gzip

    log = tmp_path / "log.jsonl"
    monkeypatch.setenv("RFCTL_USAGE_LOG", str(log))
    assert rfctl("generate", "-p", "stub", "first").code == 0
    (tmp_path / "log.jsonl.1.gz").write_bytes(gzip.compress(log.read_bytes()))  # compress
    log.unlink()
    assert rfctl("generate", "-p", "stub", "second").code == 0
    run = rfctl("usage", str(tmp_path / "log.jsonl.1.gz"), str(log), "--format", "json")
    assert run.code == 0 and json.loads(run.out)["total"]["ok"] == 2
