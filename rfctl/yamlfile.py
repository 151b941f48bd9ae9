"""The one reader of rfctl's YAML files (the model registry, templates):
text, then a safe load, with every problem one ConfigError naming the file.
yaml is imported only here, only when such a file is read."""

from __future__ import annotations

from pathlib import Path

from rfctl.errors import ConfigError


def read_yaml(path: Path, what: str):
    """The document in PATH (None when it is empty). `what` names the file
    in a read error ("model registry", "template")."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read {what}: {e.strerror}") from None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when built
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" (at line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML: {problem}{at}") from None
    except (ValueError, OverflowError, RecursionError) as e:
        # Well-formed YAML with a value Python cannot hold: 2026-02-30 as a
        # date, an integer past the 4300-digit parsing limit, deep nesting.
        raise ConfigError(f"{path}: bad value: {str(e).split(';')[0]}") from None
