"""--resume FILE: the successful results of an earlier run, by id.

FILE is typically the previous run's output (possibly the same file as -o,
which is read here before anything is written). A line is a success when it
is a JSON object with "ok": true and an "id"; everything else (failed lines,
a torn last line of an interrupted redirect, blank lines) is left to be run
again. A missing FILE holds nothing, so the same command line serves the
first run and every re-run. When an id appears more than once, the last
success wins. The records are kept verbatim: the new output carries them, so
-o FILE ends up complete.
"""

from __future__ import annotations

import json

from rfctl.errors import Exit, RfctlError


def load(path: str) -> dict[str, str]:
    """{id: the record's line, newline included} for every success in PATH."""
    done: dict[str, str] = {}
    try:
        f = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return done
    except OSError as e:
        raise RfctlError(f"cannot read {path}: {e.strerror or e}", Exit.DATAERR) from None
    with f:
        try:
            for raw in f:
                ident = success_id(raw)
                if ident is not None:
                    done[ident] = raw.decode("utf-8", "replace").rstrip("\r\n") + "\n"
        except OSError as e:
            raise RfctlError(f"cannot read {path}: {e.strerror or e}", Exit.DATAERR) from None
    return done


def success_id(raw: bytes) -> str | None:
    """The id of a successful result line, else None."""
    if b'"ok"' not in raw:  # cheap reject before parsing
        return None
    try:
        rec = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(rec, dict) or rec.get("ok") is not True:
        return None
    ident = rec.get("id")
    return ident if isinstance(ident, str) else None
