"""`generate -T NAME -V key=value`: what the template sends, flags winning
over it and it over `[defaults]`, and its errors as one line each."""

from __future__ import annotations

import pytest
from reuse_helpers import usage_records, write_template

REVIEW = """\
description: Review a diff
system: You review {{language}} code.
prompt: |
  Review this change, at most {{points}} points:

  {{input}}
variables:
  points: 3
  language:
temperature: 0.2
max_tokens: 300
"""


def sent(srv) -> dict:
    return srv.chat()[-1].body


def test_a_template_renders_system_prompt_and_options(rfctl, local):
    srv = local()
    write_template("review", REVIEW)
    r = rfctl("generate", "-T", "review", "-V", "language=Python", input="+ x = 1\n")
    assert r.code == 0, r.err
    body = sent(srv)
    assert body["messages"] == [
        {"role": "system", "content": "You review Python code."},
        {"role": "user", "content": "Review this change, at most 3 points:\n\n+ x = 1\n"},
    ]
    assert body["temperature"] == 0.2 and body["max_tokens"] == 300


def test_flags_win_over_the_template_which_wins_over_the_config(rfctl, local):
    srv = local("\n")  # [defaults] max_tokens is rfctl's 1024 unless a template says otherwise
    write_template("review", REVIEW)
    args = ("generate", "-T", "review", "-V", "language=Go", "-V", "points=5")
    assert rfctl(*args, "-t", "0.9", "-s", "Be harsh.", input="diff").code == 0
    body = sent(srv)
    assert body["temperature"] == 0.9  # the flag
    assert body["max_tokens"] == 300  # the template, over [defaults]
    assert body["messages"][0] == {"role": "system", "content": "Be harsh."}
    assert "at most 5 points" in body["messages"][1]["content"]
    write_template("plain", "prompt: '{{input}}'\n")
    assert rfctl("generate", "-T", "plain", input="diff").code == 0
    assert sent(srv)["max_tokens"] == 1024 and "temperature" not in sent(srv)


def test_a_template_model_picks_the_model(rfctl, local):
    srv = local()
    write_template("pinned", "prompt: '{{input}}'\nmodel: other-model\n")
    assert rfctl("generate", "-T", "pinned", input="hi").code == 0
    assert sent(srv)["model"] == "other-model"
    assert rfctl("generate", "-T", "pinned", "-m", "m1", input="hi").code == 0
    assert sent(srv)["model"] == "m1"


def test_a_template_without_input_needs_no_prompt(rfctl, local):
    srv = local()
    write_template("haiku", "prompt: Write a haiku about {{topic}}.\nvariables: [topic]\n")
    r = rfctl("generate", "-T", "haiku", "-V", "topic=rain")
    assert r.code == 0, r.err
    assert sent(srv)["messages"] == [{"role": "user", "content": "Write a haiku about rain."}]


@pytest.mark.parametrize(
    ("args", "stdin", "code", "words"),
    [
        (["-T", "review"], "diff", 65, "needs a value for 'language'"),
        (
            ["-T", "review", "-V", "language=Go", "-V", "colour=red"],
            "diff",
            2,
            "no variable 'colour'",
        ),
        (["-T", "review", "-V", "language=Go"], "", 65, "input is empty"),
        (["-T", "nosuch"], "diff", 78, "no template named 'nosuch'"),
        (["-T", "../etc/passwd"], "diff", 2, "invalid template name"),
        (["-T", "review", "-V", "novalue"], "diff", 2, "-V takes key=value"),
        (["-V", "language=Go"], "diff", 2, "use it with -T NAME"),
        (["-T", "broken"], "diff", 78, "broken.yaml"),
    ],
    ids=[
        "missing variable",
        "unknown variable",
        "empty input",
        "unknown template",
        "path as name",
        "bad -V",
        "-V without -T",
        "broken template",
    ],
)
def test_template_errors_are_one_line_and_send_nothing(rfctl, local, args, stdin, code, words):
    srv = local()
    write_template("review", REVIEW)
    write_template("broken", "prompt: '{{nope}}'\n")
    r = rfctl("generate", *args, input=stdin)
    assert r.code == code, r.err
    assert r.err.startswith("rfctl: error: ") and r.err.count("\n") == 1 and words in r.err
    assert "Traceback" not in r.err
    assert srv.chat() == [] and usage_records() == []


def test_templates_complete_by_name(rfctl):
    write_template("review", REVIEW)
    write_template("haiku", "prompt: hi\n")
    r = rfctl("completions", "--list", "templates")
    assert (r.code, r.out) == (0, "haiku\nreview\n")
