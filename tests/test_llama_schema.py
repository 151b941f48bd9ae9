"""--schema against the real llama-server (JSON-schema constrained decoding):
the answer parses and validates, for a schema with nested objects, arrays,
enums and required fields."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.llama

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "color": {"enum": ["red", "green", "blue"]},
        "address": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "maxLength": 12},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
            },
            "required": ["city", "zip"],
        },
        "tags": {
            "type": "array",
            "items": {"type": "string", "maxLength": 8},
            "minItems": 1,
            "maxItems": 2,
        },
    },
    "required": ["name", "age", "color", "address", "tags"],
}


def test_llama_server_answers_a_document_that_validates(
    rfctl, write_config, llama_server, tmp_path
):
    import jsonschema

    log = tmp_path / "usage.jsonl"
    write_config(f'[providers.local]\nkind = "llamacpp"\nbase_url = "{llama_server.url}/v1"\n')
    schema = tmp_path / "person.json"
    schema.write_text(json.dumps(SCHEMA))
    run = rfctl(
        "generate",
        "-p",
        "local",
        "-t",
        "0",
        "--max-tokens",
        "160",
        # Grammar-constrained decoding on a shared 2-core machine can be slow.
        "--timeout",
        "600",
        "--deadline",
        "900",
        "--schema",
        str(schema),
        "A person, as JSON:",
        env={"RFCTL_USAGE_LOG": str(log)},
    )
    assert run.code == 0, run.err
    assert run.out.count("\n") == 1  # one line into a pipe
    doc = json.loads(run.out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["color"] in ("red", "green", "blue") and isinstance(doc["address"], dict)
    [rec] = [json.loads(x) for x in log.read_text().splitlines()]
    assert rec["status"] == "ok" and rec["tokens_source"] == "provider"
