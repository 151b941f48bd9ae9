"""`rfctl usage --latency`: each group's latency distribution, as a picture
on a terminal and as bucket counts for programs.

  table        per group a heading (attempts, p50, p95) and a histogram, one
               row per round-number bucket, the p50 and p95 buckets marked
  tsv / csv    one line per group and bucket: the group fields, from_ms
               (inclusive), to_ms (exclusive), count; the empty buckets
               between the lowest and highest used one are included, so the
               lines plot as they stand
  json         {"by", "groups": [{fields..., attempts, p50_ms, p95_ms,
               buckets: [{from_ms, to_ms, count}]}]}

Buckets come from the percentile sketch (usage_stats.Sketch) the p50/p95
columns are computed from: six round bounds a decade (1, 1.5, 2, 3, 5, 7 x
10^n ms) in TSV, CSV and JSON; the picture uses 1, 2, 5 when the six would
make more than 16 rows.
"""

from __future__ import annotations

from rfctl.charts import buckets, histogram_lines
from rfctl.usage_stats import Sketch, group_sort_key

FIELDS = ("from_ms", "to_ms", "count")


def _groups(groups: dict, by: list[str]):
    for key in sorted(groups, key=group_sort_key):
        yield dict(zip(by, key, strict=True)), groups[key].latency


def _title(fields: dict) -> str:
    return " / ".join("-" if v is None else str(v) for v in fields.values()) or "all"


def print_pictures(groups: dict, by: list[str], stream, width: int) -> None:
    from rfctl.table import console

    out = console(stream, width)
    # Latencies are of the successful attempts, except per status (each its own).
    noun = "attempts" if "status" in by else "ok attempts"
    first = True
    for fields, counts in _groups(groups, by):
        if not first:
            out.print()
        first = False
        for line in histogram_lines(_title(fields), counts, width, noun):
            out.print(line, no_wrap=True, overflow="ellipsis", crop=True)
    if first:
        out.print("no records")


def rows(groups: dict, by: list[str]) -> list[dict]:
    """One dict per group and bucket (the TSV and CSV lines)."""
    out = []
    for fields, counts in _groups(groups, by):
        for b in buckets(counts):
            out.append({**fields, "from_ms": b.low_ms, "to_ms": b.high_ms, "count": b.count})
    return out


def document(groups: dict, by: list[str]) -> dict:
    """The JSON shape."""
    out = []
    for fields, counts in _groups(groups, by):
        out.append(
            {
                **fields,
                "attempts": sum(counts.values()),
                "p50_ms": _round(Sketch.quantile(counts, 0.5)),
                "p95_ms": _round(Sketch.quantile(counts, 0.95)),
                "buckets": [
                    {"from_ms": b.low_ms, "to_ms": b.high_ms, "count": b.count}
                    for b in buckets(counts)
                ],
            }
        )
    return {"by": by, "groups": out}


def _round(value):
    return None if value is None else round(value, 1)
