"""The --jsonl line reader: parse_line over any text never raises (a bad line
is a Line carrying an InputError for that line), and a whole batch over any
stdin bytes writes one JSON result per request line, in order, without a
traceback."""

from __future__ import annotations

import json

from fuzz_helpers import any_text, encodable, fuzz, json_values, utf8_text
from hypothesis import given
from hypothesis import strategies as st

from rfctl.batch import MAX_TOKENS, Line, parse_line
from rfctl.errors import Exit, InputError
from rfctl.providers.base import Request

DEFAULTS = Request("-", model="dm", system="ds", temperature=0.5, max_tokens=99, stop=["END"])
FIELDS = [
    "prompt",
    "id",
    "system",
    "model",
    "provider",
    "temperature",
    "max_tokens",
    "stop",
    "metadata",
]


def writable(value) -> bool:
    """Can go out in a result line (what batch.write does with a record)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def check_line(line: Line, number: int) -> None:
    assert isinstance(line, Line)
    assert isinstance(line.id, str) and writable(line.id)
    assert line.metadata is None or writable(line.metadata)
    if line.error is not None:
        assert isinstance(line.error, InputError)
        assert line.error.code == Exit.DATAERR
        assert line.error.message.startswith(f"line {number}: ")
        assert line.request is None
        return
    req = line.request
    assert isinstance(req.prompt, str) and req.prompt.strip() and encodable(req.prompt)
    for text in (req.model, req.system, line.provider, *req.stop):
        assert text is None or (isinstance(text, str) and encodable(text))
    assert req.max_tokens is None or (
        isinstance(req.max_tokens, int) and 1 <= req.max_tokens <= MAX_TOKENS
    )
    assert req.temperature is None or (isinstance(req.temperature, float) and req.temperature >= 0)


# Objects made mostly of the real field names, with values of any JSON type.
objects = st.dictionaries(
    st.sampled_from(FIELDS) | any_text(6), json_values(max_leaves=6), max_size=6
)
lines = st.one_of(
    any_text(60),  # anything at all, lone surrogates included
    st.binary(max_size=60).map(lambda b: b.decode("utf-8", "surrogateescape")),  # stdin bytes
    json_values().map(json.dumps),
    objects.map(json.dumps),
    objects.map(
        lambda o: json.dumps(o, ensure_ascii=False)
    ),  # raw non-ASCII (maybe lone surrogates)
)


@fuzz(150)
@given(text=lines, number=st.integers(1, 10**6))
def test_any_line_gives_a_line_or_that_lines_input_error(text, number):
    check_line(parse_line(text, number, DEFAULTS), number)


def test_lines_nested_too_deep_fail_alone():
    for text in ("[" * 100_000, '{"prompt": "x", "metadata": ' + "[" * 10_000 + "]" * 10_000 + "}"):
        check_line(parse_line(text, 3, DEFAULTS), 3)


def _text():
    return utf8_text(20)


@st.composite
def valid_items(draw):
    item = {"prompt": draw(_text().filter(str.strip))}
    if draw(st.booleans()):
        item["id"] = draw(_text() | st.integers())
    if draw(st.booleans()):
        item["system"] = draw(_text())
    if draw(st.booleans()):
        item["model"] = draw(_text().filter(str.strip))
    if draw(st.booleans()):
        item["temperature"] = draw(st.floats(0, 2) | st.integers(0, 2))
    if draw(st.booleans()):
        item["max_tokens"] = draw(st.integers(1, MAX_TOKENS))
    if draw(st.booleans()):
        item["stop"] = draw(st.lists(_text(), max_size=3) | _text())
    if draw(st.booleans()):
        item["metadata"] = draw(json_values().filter(writable))
    return item


@fuzz(80)
@given(item=valid_items(), ascii_only=st.booleans())
def test_a_valid_object_line_says_what_it_asked(item, ascii_only):
    line = parse_line(json.dumps(item, ensure_ascii=ascii_only), 7, DEFAULTS)
    assert line.error is None
    req = line.request
    assert req.prompt == item["prompt"]
    assert req.system == item.get("system", DEFAULTS.system)
    assert req.model == item.get("model", DEFAULTS.model)
    assert req.max_tokens == item.get("max_tokens", DEFAULTS.max_tokens)
    assert req.temperature == item.get("temperature", DEFAULTS.temperature)
    stop = item.get("stop", DEFAULTS.stop)
    assert req.stop == ([stop] if isinstance(stop, str) else stop)
    ident = item.get("id")
    assert line.id == (
        "7" if ident is None else ident if isinstance(ident, str) else json.dumps(ident)
    )
    assert line.metadata == item.get("metadata")


@fuzz(80)
@given(prompt=_text().filter(str.strip))
def test_a_json_string_line_is_the_prompt(prompt):
    line = parse_line(json.dumps(prompt), 1, DEFAULTS)
    assert line.error is None and line.request.prompt == prompt


# ---------------------------------------------------------------- a whole batch

batch_lines = st.one_of(
    st.binary(max_size=30).filter(lambda b: b"\n" not in b),
    valid_items().map(lambda o: json.dumps(o, ensure_ascii=False).encode("utf-8")),
    objects.map(lambda o: json.dumps(o).encode()),
)


@fuzz(25)
@given(st.lists(batch_lines, max_size=6), st.sampled_from([b"\n", b"\r\n"]))
def test_any_stdin_gives_one_json_result_per_request_line_in_order(
    rfctl, write_config, raw_lines, eol
):
    # Only offline providers: a line may name any provider, and hypothesis
    # draws names from the source ("ollama", "vllm"), which would otherwise
    # reach for servers on this machine.
    write_config('[providers.offline]\nkind = "stub"\n')
    stdin = b"".join(line + eol for line in raw_lines)
    run = rfctl(
        "generate",
        "-p",
        "stub",
        "--jsonl",
        "-j",
        "2",
        input=stdin.decode("utf-8", "surrogateescape"),
    )
    requests = [
        line for line in stdin.split(b"\n") if line.decode("utf-8", "surrogateescape").strip()
    ]
    # split("\n"), not splitlines(): a result may hold U+0085 or U+2028 raw.
    results = [json.loads(out) for out in run.out.split("\n") if out]
    assert "Traceback" not in run.err
    assert len(results) == len(requests)
    assert run.code == (Exit.PARTIAL if any(not r["ok"] for r in results) else 0)
    for number, (raw, res) in enumerate(zip(requests, results, strict=True), 1):
        if not res["ok"]:
            assert res["error"]["code"] in (Exit.DATAERR, Exit.USAGE, Exit.CONFIG, Exit.UNAVAILABLE)
        try:
            item = json.loads(raw)
        except ValueError:
            item = None
        if isinstance(item, dict) and isinstance(item.get("id"), str) and writable(item["id"]):
            assert res["id"] == item["id"], f"result {number} is not in input order"
