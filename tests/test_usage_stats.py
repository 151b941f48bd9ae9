"""The query layer of the usage log: the latency sketch and how groups add up."""

from __future__ import annotations

import pytest
from usage_helpers import make_records

from rfctl.usage_stats import Filters, Group, Sketch, aggregate, summarise, total


def test_percentile_sketch_stays_within_one_percent():
    import random

    rng = random.Random(3)
    values = [rng.lognormvariate(6, 2) for _ in range(20_000)] + [0.0, 1e-6, 5e5]
    counts: dict[int, int] = {}
    for v in values:
        i = Sketch.index(v)
        counts[i] = counts.get(i, 0) + 1
    ordered = sorted(values)
    for q in (0.01, 0.5, 0.9, 0.95, 0.99, 1.0):
        exact = ordered[max(1, -(-int(q * 1e9) * len(values) // int(1e9))) - 1]
        assert Sketch.quantile(counts, q) == pytest.approx(exact, rel=Sketch.ALPHA, abs=1e-3)
    assert Sketch.quantile({}, 0.5) is None
    assert len(counts) < 3000  # bounded by the value range, not the number of values


def test_the_total_of_the_groups_is_the_whole_log():
    records = make_records(2000, seed=5)
    whole = summarise(aggregate([records], []), [])[0]
    for by in (["provider"], ["model", "status"], ["day"]):
        # Merged histograms give the percentiles of all the records together.
        assert total(aggregate([records], by)) == whole


def test_no_records_is_one_row_of_zeros_and_no_groups_when_grouped():
    (row,) = summarise({}, [])
    assert row == Group().columns()
    assert row["ok"] == 0 and row["p50_ms"] is None
    assert summarise({}, ["provider"]) == []


def test_filters_take_a_half_open_window_and_sets_of_names():
    records = make_records(500, seed=6)
    since, until = records[100].ts, records[300].ts
    f = Filters(since=since, until=until, providers={"claude", "ollama"})
    got = aggregate([records], ["provider"], f)
    assert set(got) <= {("claude",), ("ollama",)}
    want = [r for r in records[100:300] if r.provider in ("claude", "ollama")]
    assert sum(g.ok + g.errors for g in got.values()) == len(want)
    assert not Filters().active and f.active


def test_groups_keep_prometheus_duration_buckets_only_when_asked():
    records = make_records(300, seed=8)
    (plain,) = aggregate([records], []).values()
    (prom,) = aggregate([records], [], prometheus=True).values()
    assert plain.durations is None and plain.latency
    assert sum(prom.durations) == len(records) and not prom.latency
    assert prom.duration_sum_ms == pytest.approx(sum(r.latency_ms for r in records))
