"""JSON Schema answers on the wire: how each protocol is asked for a
document that follows the schema, and the local check every answer gets.

How (mode), by kind:
- response_format: OpenAI's {"type": "json_schema", "json_schema": {"name",
  "schema", "strict"}}; strict only when the schema meets OpenAI's strict
  rules (every object closed, every property required), which a strict
  request with any other schema fails. The same nested shape for
  llama-server (which reads json_schema.schema, not a flat "schema"), LM
  Studio, LocalAI and generic OpenAI-compatible servers. OpenAI models older
  than Structured Outputs (gpt-3.5, gpt-4) are asked in the prompt.
- structured_outputs: vLLM's guided decoding, {"structured_outputs":
  {"json": schema}} (the guided_json field it replaced is gone since 0.12).
- output_config: Anthropic's structured output, output_config.format
  {"type": "json_schema", "schema"}, on Claude 4.5 and later. Its schemas
  are a subset (the SDK rewrites every schema it sends the same way): every
  object closed with additionalProperties false, and the keywords it does
  not enforce (minimum, maxLength, pattern, ...) moved into the description
  as hints. The answer is still validated against the schema as given.
- tool: older Claude models (and local servers behind the Messages API) get
  one tool whose input_schema is the schema, forced with tool_choice; the
  answer is the tool call's input. Forced tool use and thinking exclude each
  other, so with reasoning those models are asked in the prompt instead.
- format: Ollama's "format": schema.
- prompt: the schema is written into the prompt, with the instruction to
  answer with one JSON document.

Whatever the server promises, every answer is parsed and validated here
(jsonschema, imported only when a schema was given); one that does not
validate raises ProviderError("invalid_answer"): a failed attempt, and the
walk moves on to the next candidate.
"""

from __future__ import annotations

import json
import re

from rfctl.providers.base import ProviderError, Request, Result

INVALID = "invalid_answer"  # the ProviderError kind of an answer that does not validate
TOOL = "rfctl_answer"  # the forced tool's name; its input is the answer
NAME = "answer"  # json_schema.name (OpenAI: [a-zA-Z0-9_-], at most 64)

MODES = {
    "response_format": "response_format json_schema",
    "structured_outputs": "vLLM structured_outputs",
    "output_config": "output_config.format",
    "tool": "a forced tool call",
    "format": "Ollama format",
    "prompt": "the schema in the prompt",
}

_OPENAI_LEGACY = re.compile(r"(gpt-3\.5|gpt-4($|-(?!o)\D|-\d{4}))")
_CLAUDE = re.compile(r"claude-[a-z]+-(\d+)(?:-(\d)(?!\d))?")


def mode(kind: str, model: str | None, req: Request) -> str | None:
    """How this kind is asked for the schema; None: it cannot be (the stub)."""
    from rfctl.providers import thinking

    name = (model or "").lower()
    if kind == "stub":
        return None
    if kind == "ollama":
        return "format"
    if kind == "vllm":
        return "structured_outputs"
    if kind == "anthropic":
        if _claude_native(name):
            return "output_config"
        if thinking.wanted(req) or req.schema.get("type") != "object":
            return "prompt"
        return "tool"
    if kind == "openai" and _OPENAI_LEGACY.match(name.rsplit("/", 1)[-1]):
        return "prompt"
    return "response_format"


def _claude_native(name: str) -> bool:
    m = _CLAUDE.match(name)
    if not m:
        return False
    major, minor = int(m.group(1)), int(m.group(2) or 0)
    return (major, minor) >= (4, 5)


def prompt(req: Request, how: str | None) -> str:
    """The prompt text sent: with the schema written in for the prompt mode."""
    if req.schema is None or how != "prompt":
        return req.prompt
    schema = json.dumps(req.schema, ensure_ascii=False, separators=(",", ":"))
    return (
        f"{req.prompt}\n\nAnswer with one JSON document and nothing else (no prose, no code "
        f"fence). It must validate against this JSON Schema:\n{schema}"
    )


def strict_compatible(schema) -> bool:
    """OpenAI's strict mode: every object lists all its properties as required
    and has additionalProperties false, all the way down."""
    if isinstance(schema, list):
        return all(strict_compatible(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required") or ()) != set(props):
            return False
    return all(
        strict_compatible(v)
        for k, v in schema.items()
        if k not in ("enum", "const", "default", "examples", "required")
    )


# ---------------------------------------------------------------- payloads


def openai(body: dict, req: Request, how: str | None, kind: str) -> None:
    if req.schema is None:
        return
    if how == "structured_outputs":
        body["structured_outputs"] = {"json": req.schema}
    elif how == "response_format":
        spec: dict = {"name": NAME, "schema": req.schema}
        if kind == "openai":
            spec["strict"] = strict_compatible(req.schema)
        body["response_format"] = {"type": "json_schema", "json_schema": spec}


def anthropic(body: dict, req: Request, how: str | None) -> None:
    if req.schema is None:
        return
    if how == "output_config":
        fmt = {"type": "json_schema", "schema": anthropic_schema(req.schema)}
        body.setdefault("output_config", {})["format"] = fmt
    elif how == "tool":
        body["tools"] = [
            {
                "name": TOOL,
                "description": "Give the answer as this tool's input.",
                "input_schema": req.schema,
            }
        ]
        body["tool_choice"] = {"type": "tool", "name": TOOL, "disable_parallel_tool_use": True}


# What Anthropic's structured output enforces; other keywords become hints.
_ANTHROPIC_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "items", "enum", "const", "anyOf", "allOf",
        "$ref", "$defs", "definitions", "description", "title", "default",
        "additionalProperties", "format", "minItems",
    }
)  # fmt: skip
_ANTHROPIC_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


def anthropic_schema(schema):
    """The schema as Anthropic's structured output takes it (see the module doc)."""
    if isinstance(schema, list):
        return [anthropic_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict = {}
    hints = []
    for key, value in schema.items():
        if key == "oneOf":
            key = "anyOf"
        keep = key in _ANTHROPIC_KEYWORDS or key == "anyOf"
        if key == "format" and value not in _ANTHROPIC_FORMATS:
            keep = False
        if key == "minItems" and value not in (0, 1):
            keep = False
        if not keep:
            hints.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        elif key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {k: anthropic_schema(v) for k, v in value.items()}
        elif key in ("items", "anyOf", "allOf"):
            out[key] = anthropic_schema(value)
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
    if hints:
        text = "; ".join(hints)
        out["description"] = f"{out['description']} ({text})" if out.get("description") else text
    return out


def ollama(body: dict, req: Request, how: str | None) -> None:
    if req.schema is not None and how == "format":
        body["format"] = req.schema


# ---------------------------------------------------------------- the answer


def check(result: Result, schema: dict) -> Result:
    """The answer as one compact JSON line, or ProviderError(INVALID)."""
    try:
        doc = document(result.text)
    except ValueError as e:
        why = str(e)
        if result.finish_reason == "length":
            why = "it was cut at the output limit before the JSON document ended"
        raise invalid(f"the answer is not JSON: {why}", result) from None
    problem = first_error(schema, doc)
    if problem is not None:
        raise invalid(f"the answer does not validate against the schema: {problem}", result)
    result.text = json.dumps(doc, ensure_ascii=False)
    return result


def invalid(message: str, result: Result) -> ProviderError:
    e = ProviderError(INVALID, message, transient=False, accepted=True, partial_text=result.text)
    e.answer = result  # billed all the same: the ledger counts its tokens
    return e


def document(text: str):
    """The JSON document in an answer: the whole text, else the inside of a
    code fence, else the first object or array in it (models asked in the
    prompt like to wrap their JSON)."""
    s = text.strip()
    try:
        return json.loads(s)
    except ValueError as e:
        first = e
    fence = re.search(r"```(?:json)?\s*\n(.*?)```", s, re.S)
    if fence:
        try:
            return json.loads(fence.group(1))
        except ValueError:
            pass
    starts = [i for i in (s.find("{"), s.find("[")) if i >= 0]
    if starts:
        try:
            doc, _ = json.JSONDecoder().raw_decode(s, min(starts))
            return doc
        except ValueError:
            pass
    if not s:
        raise ValueError("the answer is empty")
    raise ValueError(str(first))


def first_error(schema: dict, doc) -> str | None:
    """The most relevant validation error, as 'at $.path: message', or None."""
    from jsonschema import exceptions, validators

    cls = validators.validator_for(schema)
    err = exceptions.best_match(cls(schema).iter_errors(doc))
    if err is None:
        return None
    message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
    return f"at {err.json_path}: {message}"


def check_schema(schema) -> str | None:
    """Why `schema` is not a JSON Schema, or None."""
    from jsonschema import exceptions, validators

    if not isinstance(schema, dict):
        return "a JSON Schema is an object"
    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as e:
        return f"at {e.json_path}: {e.message}"
    return None
