"""Managed llama-server: a `llamacpp` provider naming a `model_file` (a .gguf
path, or "bundled" for the Gemma 3 270M of the `local` extra) gets a server
that rfctl starts on first use, shares between invocations, and lets exit
after `idle_timeout` seconds unused.

    ensure_running(provider, paths) -> "http://127.0.0.1:PORT/v1"
    started(p, paths) / current(p, paths) -> p with its server's URL
    status(paths) / stop(paths)     -> what `rfctl local status|stop` shows

Stdlib only (plus the extra's packages, imported on a start): it sits on the
`generate` path. The names below are imported on first use: the zero-config
providers ask only localserver.model whether the extra is installed, and
must not pay for the process machinery.
"""

_FROM_MODEL = ("BUNDLED", "extra_installed")
_FROM_SERVER = (
    "DEFAULT_IDLE_TIMEOUT",
    "Status",
    "current",
    "ensure_running",
    "is_managed",
    "started",
    "state_dir",
    "status",
    "stop",
)

__all__ = sorted(_FROM_MODEL + _FROM_SERVER)


def __getattr__(name: str):
    if name in _FROM_MODEL:
        from rfctl.localserver import model

        return getattr(model, name)
    if name in _FROM_SERVER:
        from rfctl.localserver import server

        return getattr(server, name)
    raise AttributeError(f"module 'rfctl.localserver' has no attribute {name!r}")
