"""Templates: reading and checking them, variables and their defaults, where
the input goes, precedence of flags, and `rfctl templates`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rfctl import templates
from rfctl.errors import ConfigError, InputError, UsageError

SUMMARY = """\
description: Summarise for an audience
system: You write for {{audience}}.
prompt: |
  Summarise this in {{ bullets }} bullets:

  {{input}}
variables:
  bullets: 5
  audience:
model: haiku
temperature: 0.2
max_tokens: 400
"""


@pytest.fixture
def tdir():
    return templates.default_dir()  # under the test's XDG_CONFIG_HOME


@pytest.fixture
def write(tdir):
    def write(name: str, text: str) -> Path:
        tdir.mkdir(parents=True, exist_ok=True)
        path = tdir / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def summary(write):
    write("summary", SUMMARY)
    return templates.load("summary")


# ---------------------------------------------------------------- rendering


def test_variables_take_their_defaults_and_the_input_goes_where_it_says(summary):
    system, prompt, options = templates.render(summary, "NOTES", {"audience": "managers"})
    assert system == "You write for managers."
    assert prompt == "Summarise this in 5 bullets:\n\nNOTES\n"
    assert options == {"model": "haiku", "temperature": 0.2, "max_tokens": 400}


def test_a_value_given_with_V_beats_the_default(summary):
    _, prompt, _ = templates.render(summary, "NOTES", {"audience": "x", "bullets": "3"})
    assert prompt.startswith("Summarise this in 3 bullets:")


def test_a_missing_variable_names_itself_and_the_template(summary):
    with pytest.raises(InputError) as e:
        templates.render(summary, "NOTES", {})
    assert e.value.code == 65
    assert e.value.message == "template summary needs a value for 'audience': add -V audience=VALUE"


def test_a_variable_the_template_does_not_have_is_a_usage_error(summary):
    with pytest.raises(
        UsageError, match=r"no variable 'audiense' \(variables: audience, bullets\)"
    ):
        templates.render(summary, "NOTES", {"audience": "x", "audiense": "y"})


def test_values_are_inserted_as_is_never_expanded_again(summary):
    _, prompt, _ = templates.render(summary, "raw {{bullets}}", {"audience": "{{input}}"})
    assert "raw {{bullets}}" in prompt  # the input's braces are the user's text
    system, _, _ = templates.render(summary, "x", {"audience": "{{bullets}}"})
    assert system == "You write for {{bullets}}."


def test_text_that_is_not_a_placeholder_is_sent_unchanged(write):
    write(
        "json",
        """\
        prompt: 'Reply as {"answer": ...} or {{ not a placeholder }} about {{input}}'
        """,
    )
    _, prompt, _ = templates.render(templates.load("json"), "cats", {})
    assert prompt == 'Reply as {"answer": ...} or {{ not a placeholder }} about cats'


def test_a_prompt_without_the_input_placeholder_gets_the_input_after_it(write):
    write("review", "prompt: Review this diff.\n")
    _, prompt, _ = templates.render(templates.load("review"), "+ added\n", {})
    assert prompt == "Review this diff.\n\n+ added\n"
    _, alone, _ = templates.render(templates.load("review"), "", {})
    assert alone == "Review this diff."  # the template is a whole prompt by itself


def test_a_template_without_a_prompt_sends_the_input_as_is(write):
    write("terse", "system: Be terse.\n")
    system, prompt, options = templates.render(templates.load("terse"), "Why?", {})
    assert (system, prompt, options) == ("Be terse.", "Why?", {})
    with pytest.raises(InputError, match="empty prompt"):
        templates.render(templates.load("terse"), "  ", {})


def test_a_template_that_needs_input_refuses_an_empty_one(summary):
    with pytest.raises(InputError, match="puts the input in its prompt, but the input is empty"):
        templates.render(summary, "\n", {"audience": "x"})


def test_variables_may_be_listed_or_described(write):
    write(
        "t",
        """\
        prompt: "{{a}} {{b}}"
        variables:
          a: {default: 1, description: how many}
          b: {description: required}
        """,
    )
    t = templates.load("t")
    assert t.variables["a"].default == "1" and t.variables["a"].description == "how many"
    assert templates.render(t, "", {"b": "two"})[1] == "1 two"
    write("u", 'prompt: "{{a}}"\nvariables: [a]\n')
    with pytest.raises(InputError, match="'a'"):
        templates.render(templates.load("u"), "", {})


def test_parse_vars():
    assert templates.parse_vars(["a=1", "b=x=y", "a=2", "c="]) == {"a": "2", "b": "x=y", "c": ""}
    with pytest.raises(UsageError, match="-V takes key=value, not 'oops'"):
        templates.parse_vars(["oops"])


# ---------------------------------------------------------------- precedence


def test_flags_win_over_the_template_which_wins_over_the_defaults():
    merged = templates.merge(
        flags={"model": "sonnet", "temperature": None, "stop": []},
        template_options={"model": "haiku", "temperature": 0.2},
        defaults={"model": None, "temperature": 0.7, "max_tokens": 1024, "stop": ["\n"]},
    )
    assert merged == {"model": "sonnet", "temperature": 0.2, "max_tokens": 1024, "stop": ["\n"]}


def test_a_zero_from_the_command_line_still_wins():
    merged = templates.merge({"temperature": 0.0}, {"temperature": 0.9}, {})
    assert merged == {"temperature": 0.0}


# ---------------------------------------------------------------- checking the file


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("promt: hi\n", "unknown key 'promt'"),
        ("temperature: hot\n", "temperature must be a number"),
        ("temperature: -1\n", "temperature must be 0 or more"),
        ("max_tokens: 0\n", "max_tokens must be an integer, at least 1"),
        ("max_tokens: true\n", "max_tokens must be an integer"),
        ("cache_prompt: 2h\n", "cache_prompt must be 5m or 1h, true or false"),
        ("model: [a, b]\n", "model must be a model name"),
        ("system: [a]\n", "system must be a string"),
        ("prompt: 'hi {{who}}'\n", "prompt uses {{who}}, which is not a variable"),
        ("system: 'x {{input}}'\n", "{{input}} goes in the prompt"),
        ("variables: {input: 1}\n", "'input' is reserved"),
        ("variables: {a: {dflt: 1}}\n", "unknown key 'variables.a.dflt'"),
        ("variables: {a: [1, 2]}\n", "the default must be a single value"),
        ("- a list\n", "a template is a mapping"),
        ("prompt: 'unclosed\n", "invalid YAML"),
        ("description: 2026-02-30\n", "bad value"),  # a date YAML reads but Python cannot hold
    ],
)
def test_a_broken_template_is_a_config_error_naming_the_file_and_key(write, text, message):
    path = write("broken", text)
    with pytest.raises(ConfigError) as e:
        templates.load("broken")
    assert e.value.code == 78
    assert e.value.message.startswith(f"{path}: ") and message in e.value.message


def test_invalid_yaml_says_where(write):
    write("bad", "prompt: hi\nmodel: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+"):
        templates.load("bad")


def test_an_unknown_template_lists_the_known_ones(summary, tdir):
    with pytest.raises(ConfigError) as e:
        templates.load("sumary")
    assert e.value.message == f"no template named 'sumary' in {tdir} (known: summary)"


@pytest.mark.parametrize("bad", ["../secrets", "a/b", ".hidden", ""])
def test_a_template_name_is_never_a_path(bad):
    with pytest.raises(UsageError, match="invalid template name"):
        templates.load(bad)


def test_a_schema_file_is_found_next_to_the_template(write, tdir):
    write("s", "schema: shapes/answer.json\n")
    assert templates.load("s").options["schema"] == str((tdir / "shapes" / "answer.json").resolve())
    write("inline", "schema: {type: object}\n")
    assert templates.load("inline").options["schema"] == {"type": "object"}


def test_yaml_is_imported_only_when_a_template_is_read():
    code = "import sys, rfctl.templates; print('yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- rfctl templates


def test_rfctl_templates_lists_them(rfctl, summary):
    r = rfctl("templates", "--format", "tsv")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "name\tmodel\tvariables\tdescription",
        "summary\thaiku\tbullets=5,audience\tSummarise for an audience",
    ]
    assert rfctl("templates", "list", "--json").out == rfctl("templates", "--json").out


def test_rfctl_templates_list_names_a_broken_one_and_lists_the_rest(rfctl, summary, write):
    write("broken", "promt: hi\n")
    r = rfctl("templates", "--format", "tsv", "--no-header")
    assert r.code == 0
    assert [line.split("\t")[0] for line in r.out.splitlines()] == ["broken", "summary"]
    assert r.err.startswith("rfctl: warning: ") and "unknown key 'promt'" in r.err


def test_rfctl_templates_show_and_path(rfctl, summary, tdir):
    r = rfctl("templates", "show", "summary")
    assert r.code == 0 and r.out == SUMMARY
    data = json.loads(rfctl("templates", "show", "summary", "--json").out)
    assert data["prompt"].startswith("Summarise") and data["options"]["model"] == "haiku"
    assert rfctl("templates", "path").out.strip() == str(tdir)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("show", "nope"), 78, "no template named 'nope'"),
        (("show",), 2, "needs a template NAME"),
        (("show", "../x"), 2, "invalid template name"),
    ],
)
def test_rfctl_templates_errors_are_one_line(rfctl, summary, args, code, message):
    r = rfctl("templates", *args)
    assert r.code == code
    assert r.err.startswith("rfctl: error:") and message in r.err and r.err.count("\n") == 1
