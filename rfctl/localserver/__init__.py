"""Managed llama-server: a `llamacpp` provider naming a `model_file` (a .gguf
path, or "bundled" for the Gemma 3 270M of the `local` extra) gets a server
that rfctl starts on first use, shares between invocations, and lets exit
after `idle_timeout` seconds unused.

    ensure_running(provider, paths) -> "http://127.0.0.1:PORT/v1"
    status(paths) / stop(paths)     -> what `rfctl local status|stop` shows

Stdlib only (plus the extra's packages, imported on a start): it sits on the
`generate` path.
"""

from rfctl.localserver.model import BUNDLED, extra_installed
from rfctl.localserver.server import (
    DEFAULT_IDLE_TIMEOUT,
    Status,
    current,
    ensure_running,
    is_managed,
    started,
    state_dir,
    status,
    stop,
)

__all__ = [
    "BUNDLED",
    "DEFAULT_IDLE_TIMEOUT",
    "Status",
    "current",
    "ensure_running",
    "extra_installed",
    "is_managed",
    "started",
    "state_dir",
    "status",
    "stop",
]
