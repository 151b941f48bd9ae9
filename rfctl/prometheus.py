"""Prometheus text exposition (format 0.0.4): rendering and atomic file writes.

Used by `rfctl usage --format prometheus` and `rfctl probe --textfile`. The
textfile collector of node_exporter reads *.prom files while we write them, so
files are replaced atomically, never rewritten in place.

    fam = Family("rfctl_up", "gauge", "1 when the provider answered.")
    fam.samples.append(Sample({"provider": "ollama"}, 1))
    write_atomic(path, render([fam]))
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


@dataclass
class Sample:
    labels: dict[str, str]
    value: float
    name: str | None = None  # None: the family's name; histograms use NAME_bucket etc.


@dataclass
class Family:
    name: str
    type: str  # counter | gauge | histogram | summary | untyped
    help: str
    samples: list[Sample] = field(default_factory=list)


def escape_label_value(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    for name in labels:
        if not _LABEL_NAME.match(name) or name.startswith("__"):
            raise ValueError(f"invalid Prometheus label name {name!r}")
    inner = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def render(families: Iterable[Family]) -> str:
    """Each family as a contiguous block: HELP, TYPE, then its samples."""
    lines = []
    for fam in families:
        if not _METRIC_NAME.match(fam.name):
            raise ValueError(f"invalid Prometheus metric name {fam.name!r}")
        if fam.type not in TYPES:
            raise ValueError(f"invalid Prometheus metric type {fam.type!r}")
        lines.append(f"# HELP {fam.name} {escape_help(fam.help)}")
        lines.append(f"# TYPE {fam.name} {fam.type}")
        for s in fam.samples:
            name = s.name or fam.name
            if not _METRIC_NAME.match(name):
                raise ValueError(f"invalid Prometheus metric name {name!r}")
            lines.append(f"{name}{_labels(s.labels)} {format_value(s.value)}")
    return "".join(line + "\n" for line in lines)


def histogram_samples(
    name: str, labels: dict[str, str], bounds: Sequence[float], counts: Sequence[int], total: float
) -> list[Sample]:
    """NAME_bucket (cumulative, le ascending, then +Inf), NAME_sum, NAME_count.

    counts are per bucket, not cumulative: counts[i] observations fell in
    (bounds[i-1], bounds[i]]; counts[len(bounds)] are above the last bound.
    """
    if len(counts) != len(bounds) + 1:
        raise ValueError("histogram needs one count per bound plus one for +Inf")
    out = []
    running = 0
    for bound, count in zip([*bounds, math.inf], counts, strict=True):
        running += count
        le = "+Inf" if math.isinf(bound) else format_value(float(bound))
        out.append(Sample({**labels, "le": le}, running, f"{name}_bucket"))
    out.append(Sample(dict(labels), total, f"{name}_sum"))
    out.append(Sample(dict(labels), running, f"{name}_count"))
    return out


def write_atomic(path: str | Path, text: str, mode: int = 0o644) -> None:
    """Replace PATH atomically (rfctl.atomic.write_file_atomic). Mode 0644
    by default: node_exporter usually runs as another user and must read it."""
    from rfctl.atomic import write_file_atomic

    write_file_atomic(path, text, mode)
