"""Terminal tables fit the terminal (kubectl's convention): the main columns,
long cells cut with an ellipsis; --wide shows every column in full; TSV and
JSON are never cut."""

from __future__ import annotations

import io
import json

import pytest
from table_helpers import LONG_PROVIDERS, LONGEST_URL, widest

from rfctl.table import Column, fit_widths, plan_widths, print_table, terminal_width

# ---------------------------------------------------------------- the width plan


def test_columns_that_fit_keep_their_width():
    assert fit_widths([10, 20, 5], [10, 3, 5], 40) == [10, 20, 5]


def test_the_widest_columns_are_cut_first_and_the_room_is_filled():
    assert fit_widths([10, 40, 30], [3, 3, 3], 60) == [10, 25, 25]
    assert fit_widths([10, 40, 30], [3, 3, 3], 61) == [10, 26, 25]
    assert sum(fit_widths([7, 93, 41, 12], [2, 2, 2, 2], 77)) == 77


def test_no_column_is_cut_below_its_floor():
    assert fit_widths([10, 40, 30], [10, 30, 3], 45) == [10, 30, 5]
    assert fit_widths([10, 40], [10, 40], 20) == [10, 40]  # cannot fit: the floors


def test_elastic_columns_give_way_before_the_others():
    columns = [Column("a", "a"), Column("url", "url", elastic=True), Column("b", "b")]
    # room = 40 - 2 gaps of 2: the URL takes what the others leave.
    assert plan_widths(columns, [10, 60, 8], 40) == [10, 18, 8]


def test_when_elastic_cuts_are_not_enough_every_column_gives_way():
    columns = [Column("a", "a"), Column("url", "url", elastic=True), Column("b", "b")]
    widths = plan_widths(columns, [30, 60, 30], 40)
    assert sum(widths) + 4 <= 40
    assert min(widths) >= 3


# ---------------------------------------------------------------- drawing


COLUMNS = [
    Column("name", "name"),
    Column("url", "base URL", elastic=True),
    Column("n", "n", right=True),
    Column("extra", "extra", wide=True),
]
ROWS = [
    {"name": "alpha", "url": "https://" + "x" * 100 + ".example.com/v1", "n": 1, "extra": "E1"},
    {"name": "beta", "url": "http://short/", "n": 22, "extra": "E2"},
]


def draw(width: int, **kw) -> str:
    buf = io.StringIO()
    print_table(ROWS, COLUMNS, buf, width=width, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_a_table_fits_its_width_cutting_long_cells_with_an_ellipsis(width):
    out = draw(width)
    assert widest(out) <= width
    alpha = next(line for line in out.splitlines() if line.startswith("alpha"))
    assert "https://xxx" in alpha and "…" in alpha
    assert "http://short/" in out  # short cells are whole
    assert "extra" not in out and "E1" not in out  # wide-only


def test_wide_shows_every_column_in_full():
    out = draw(40, wide=True)
    assert ROWS[0]["url"] in out
    assert out.splitlines()[0].split() == ["name", "base", "URL", "n", "extra"]
    assert "…" not in out


def test_cell_widths_count_terminal_cells_not_characters():
    rows = [{"name": "模型" * 20, "url": "u", "n": 1, "extra": ""}]
    buf = io.StringIO()
    print_table(rows, [Column("name", "name", elastic=True), *COLUMNS[1:]], buf, width=30)
    assert widest(buf.getvalue()) <= 30


def test_the_width_is_columns_else_the_terminal_else_80(monkeypatch):
    monkeypatch.setenv("COLUMNS", "133")
    assert terminal_width(io.StringIO()) == 133
    monkeypatch.delenv("COLUMNS")

    def no_terminal(fd):
        raise OSError("not a terminal")

    monkeypatch.setattr("os.get_terminal_size", no_terminal)
    assert terminal_width(io.StringIO()) == 80


# ---------------------------------------------------------------- through the commands


@pytest.fixture
def long_providers(write_config):
    write_config(LONG_PROVIDERS)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("command", [["providers"], ["models"]])
def test_listing_commands_fit_the_terminal(rfctl, long_providers, command, width):
    run = rfctl(*command, "--no-check", "--format", "table", env={"COLUMNS": str(width)})
    assert run.code == 0, run.err
    assert widest(run.out) <= width
    if width == 80:
        assert "…" in run.out  # something had to give
    assert "\x1b[" not in run.out  # NO_COLOR (conftest)


def test_providers_table_shows_the_main_columns_and_wide_all(rfctl, long_providers):
    narrow = rfctl("providers", "--no-check", "--format", "table", env={"COLUMNS": "80"})
    header = narrow.out.splitlines()[0].split()
    assert header == ["name", "kind", "base", "URL", "reachable", "latency", "detail"]
    assert LONGEST_URL not in narrow.out
    wide = rfctl("providers", "--no-check", "--format", "table", "--wide", env={"COLUMNS": "80"})
    assert wide.code == 0, wide.err
    assert LONGEST_URL in wide.out and "…" not in wide.out
    for title in ("prio", "enabled", "key", "cooldown", "models"):
        assert title in wide.out.splitlines()[0]


@pytest.mark.parametrize("shape", [[], ["--json"], ["--format", "tsv"]])
def test_pipes_and_json_are_never_cut(rfctl, long_providers, shape):
    run = rfctl("providers", "--no-check", *shape, env={"COLUMNS": "40"})
    assert run.code == 0, run.err
    assert LONGEST_URL in run.out and "…" not in run.out
    if shape == ["--json"]:
        assert {p["base_url"] for p in json.loads(run.out)} >= {LONGEST_URL}
    else:
        assert run.out.splitlines()[0].split("\t")[:3] == ["name", "kind", "base_url"]


@pytest.mark.parametrize(
    "command",
    [["providers"], ["models"], ["usage"], ["cache"], ["templates"], ["conversations"]],
)
def test_every_listing_command_takes_wide(rfctl, command):
    run = rfctl(*command, "--help")
    assert run.code == 0 and "--wide" in run.out
