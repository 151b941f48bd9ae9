"""--schema FILE (or inline JSON): reading the schema, writing the document,
and how a call ends when no answer validated.

The schema is checked when it is read (a file that is not JSON, or JSON that
is not a JSON Schema, is exit 65 before anything is sent). How each provider
is asked, and the check of every answer, are in rfctl/providers/structured.py.
jsonschema is imported only on this path.
"""

from __future__ import annotations

import json
import os

from rfctl.errors import Exit, InputError, RfctlError
from rfctl.providers.structured import INVALID, check_schema


def load(value, where: str = "--schema") -> dict:
    """The schema from a file name, an inline JSON text, or (a --jsonl line)
    an object; InputError when it is not a usable JSON Schema."""
    if isinstance(value, dict):
        schema = value
    elif isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        schema = _parse(value, f"{where}: inline JSON")
    elif isinstance(value, str):
        try:
            with open(value, "rb") as f:
                text = f.read(8 * 1024 * 1024).decode("utf-8")
        except FileNotFoundError:
            raise InputError(f"{where}: {value}: no such file (nor inline JSON)") from None
        except OSError as e:
            raise InputError(f"{where}: cannot read {value}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise InputError(f"{where}: {value} is not UTF-8 text") from None
        schema = _parse(text, f"{where}: {os.path.basename(value)}")
    else:
        raise InputError(f"{where}: a file name, inline JSON, or a schema object")
    problem = check_schema(schema)
    if problem is not None:
        raise InputError(f"{where}: not a valid JSON Schema: {problem}")
    return schema


def _parse(text: str, what: str):
    try:
        return json.loads(text)
    except ValueError as e:
        raise InputError(f"{what} is not JSON ({e})") from None


def render(text: str, *, pretty: bool) -> str:
    """The validated document for stdout: indented on a terminal, one line
    into a pipe or a file."""
    if not pretty:
        return text + "\n"
    return json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"


def verdict(outcome) -> None:
    """When every attempt answered but none validated: exit 65 with the
    first validation error (the walk itself reports 69, a non-transient
    failure)."""
    if outcome.ok or not outcome.attempts:
        return
    prefix = f"{INVALID}: "
    errors = [a.error or "" for a in outcome.attempts if a.status == "error"]
    if errors and all(e.startswith(prefix) for e in errors):
        first = next(a for a in outcome.attempts if a.status == "error")
        n = len(errors)
        many = f" ({n} answers, none valid)" if n > 1 else ""
        outcome.error = RfctlError(
            f"{first.provider}: {first.error[len(prefix) :]}{many}", Exit.DATAERR
        )
