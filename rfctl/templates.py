"""Templates: saved requests in $XDG_CONFIG_HOME/rfctl/templates/NAME.yaml.

    description: Summarise a text for a given audience
    system: You write for {{audience}}.
    prompt: |
      Summarise this in {{bullets}} bullets:

      {{input}}
    variables:
      bullets: 5          # a default
      audience:           # no default: -V audience=... is required
    model: haiku
    temperature: 0.2
    max_tokens: 400
    schema: summary.schema.json   # a file next to the template, inline JSON, or a mapping
    cache_prompt: 5m              # 5m | 1h | true | false

`{{input}}` is where the prompt read by generate (stdin, then PROMPT
arguments) goes; a prompt without it gets the input appended after a blank
line, and a template without a prompt sends the input as is. `{{name}}`
(spaces inside the braces allowed) is a variable, set with `-V name=value`;
any other text, braces included, is sent unchanged. A placeholder that names
no declared variable is an error when the template is read, so a typo never
reaches a model. Options set on the command line win over the template's,
which win over the config's defaults (merge()).

YAML is read with PyYAML, imported only when a template is used.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from rfctl.errors import ConfigError, InputError, UsageError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
INPUT = "input"
# Request options a template may set, and the check each value must pass.
OPTIONS = ("model", "temperature", "max_tokens", "schema", "cache_prompt")
TOP_KEYS = ("description", "system", "prompt", "variables", *OPTIONS)
CACHE_PROMPT = ("5m", "1h")


def default_dir() -> Path:
    """$XDG_CONFIG_HOME/rfctl/templates (~/.config/rfctl/templates)."""
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "rfctl" / "templates"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsageError(
            f"invalid template name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit"
        )
    return name[:-5] if name.endswith(".yaml") else name


@dataclass
class Variable:
    name: str
    default: str | None = None  # None: required
    description: str | None = None


@dataclass
class Template:
    name: str
    path: Path
    description: str | None = None
    system: str | None = None
    prompt: str | None = None
    variables: dict[str, Variable] = field(default_factory=dict)
    options: dict = field(default_factory=dict)  # only the keys the file sets


def names(dir: Path | None = None) -> list[str]:
    """The templates in dir, sorted."""
    dir = Path(dir) if dir is not None else default_dir()
    try:
        entries = list(dir.iterdir())
    except OSError:
        return []
    return sorted(
        p.stem for p in entries if p.suffix == ".yaml" and _NAME.fullmatch(p.stem) and p.is_file()
    )


def find(name: str, dir: Path | None = None) -> Path:
    name = check_name(name)
    dir = Path(dir) if dir is not None else default_dir()
    path = dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(names(dir)) or "none"
        raise ConfigError(f"no template named {name!r} in {dir} (known: {known})")
    return path


def load(name: str, dir: Path | None = None) -> Template:
    """Read and check templates/NAME.yaml; every problem is a ConfigError
    naming the file (and the key, where there is one)."""
    path = find(name, dir)
    from rfctl.yamlfile import read_yaml

    data = read_yaml(path, "template")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a template is a mapping of keys ({', '.join(TOP_KEYS)})")
    return from_dict(path.stem, data, path)


def from_dict(name: str, data: dict, path: Path) -> Template:
    for key in data:
        if key not in TOP_KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(TOP_KEYS)})")
    t = Template(name=name, path=path)
    for key in ("description", "system", "prompt"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a string")
        setattr(t, key, value)
    t.variables = _variables(data.get("variables"), path)
    for key in OPTIONS:
        if data.get(key) is not None:
            t.options[key] = _option(key, data[key], path)
    declared = set(t.variables)
    for key, text in (("system", t.system), ("prompt", t.prompt)):
        for used in _PLACEHOLDER.findall(text or ""):
            if used == INPUT and key == "prompt":
                continue
            if used not in declared:
                hint = (
                    "; {{input}} goes in the prompt"
                    if used == INPUT
                    else f"; declare it under variables ({', '.join(sorted(declared)) or 'none yet'})"
                )
                raise ConfigError(
                    f"{path}: {key} uses {{{{{used}}}}}, which is not a variable{hint}"
                )
    return t


def _variables(raw, path: Path) -> dict[str, Variable]:
    if raw is None:
        return {}
    if isinstance(raw, list):  # just names: all required
        raw = {name: None for name in raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: variables must be a mapping of name to default")
    out = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"{path}: variables: {name!r} is not a valid variable name")
        if name == INPUT:
            raise ConfigError(f"{path}: variables: 'input' is reserved for the prompt's input")
        description = None
        if isinstance(spec, dict):
            for key in spec:
                if key not in ("default", "description"):
                    raise ConfigError(f"{path}: unknown key 'variables.{name}.{key}'")
            description = spec.get("description")
            spec = spec.get("default")
        if isinstance(spec, list | dict):
            raise ConfigError(f"{path}: variables.{name}: the default must be a single value")
        default = None if spec is None else _scalar_text(spec)
        out[name] = Variable(name, default, None if description is None else str(description))
    return out


def _scalar_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _option(key: str, value, path: Path):
    import math

    where = f"{path}: {key}"
    if key == "model":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} must be a model name")
        return value
    if key == "temperature":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number")
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{where} must be 0 or more")
        return float(value)
    if key == "max_tokens":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where} must be an integer, at least 1")
        return value
    if key == "schema":
        if isinstance(value, dict):
            return value
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} must be a mapping, inline JSON or a file name")
        if value.lstrip().startswith("{"):
            return value  # inline JSON, parsed where --schema is
        return str((path.parent / Path(value).expanduser()).resolve())  # relative to the template
    if key == "cache_prompt":
        if isinstance(value, bool) or value in CACHE_PROMPT:
            return value
        raise ConfigError(f"{where} must be {' or '.join(CACHE_PROMPT)}, true or false")
    raise AssertionError(key)  # pragma: no cover - OPTIONS lists every key


# ---------------------------------------------------------------- using one


def parse_vars(pairs: list[str]) -> dict[str, str]:
    """-V key=value flags as a dict (the last one of a key wins)."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-V takes key=value, not {pair!r}")
        out[key.strip()] = value
    return out


def render(template: Template, input_text: str, variables: dict[str, str]) -> tuple:
    """(system, prompt, options) for this input and these -V values.

    A variable without a default and without a value is an InputError naming
    it and the template; a -V the template does not declare is a UsageError
    (a typo would otherwise be silently ignored)."""
    unknown = sorted(set(variables) - set(template.variables))
    if unknown:
        known = ", ".join(sorted(template.variables)) or "none"
        raise UsageError(
            f"template {template.name} has no variable {unknown[0]!r} (variables: {known})"
        )
    values = {}
    for name, var in template.variables.items():
        value = variables.get(name, var.default)
        if value is None:
            raise InputError(
                f"template {template.name} needs a value for {name!r}: add -V {name}=VALUE"
            )
        values[name] = value
    has_input = template.prompt is not None and any(
        m == INPUT for m in _PLACEHOLDER.findall(template.prompt)
    )
    if has_input and not (input_text or "").strip():
        raise InputError(
            f"template {template.name} puts the input in its prompt, but the input is empty: "
            f"give PROMPT arguments or pipe text on stdin"
        )

    def fill(text: str, with_input: bool) -> str:
        # One pass over the template text: a value that itself contains
        # "{{name}}" is inserted as is, never expanded again.
        def sub(m: re.Match) -> str:
            name = m.group(1)
            if name == INPUT and with_input:
                return input_text
            return values[name]

        return _PLACEHOLDER.sub(sub, text)

    system = None if template.system is None else fill(template.system, False)
    if template.prompt is None:
        prompt = input_text
    else:
        prompt = fill(template.prompt, True)
        if not has_input and (input_text or "").strip():
            prompt = prompt.rstrip("\n") + "\n\n" + input_text
    if not (prompt or "").strip():
        raise InputError(f"template {template.name} gives an empty prompt")
    return system, prompt, dict(template.options)


def merge(flags: dict, template_options: dict, defaults: dict) -> dict:
    """Each key's value from the first source that sets it: command-line
    flags, then the template, then the config defaults. None (and an empty
    list, argparse's default for a repeatable flag) means "not set"."""
    out = {}
    for source in (defaults, template_options, flags):
        for key, value in source.items():
            if value is not None and value != []:
                out[key] = value
            else:
                out.setdefault(key, None)
    return out
