"""What rfctl learned about servers during this process, in one place.

Adapters ask a server once and remember the answer for the process: which
model to use when none is configured (the first the server lists), and
whether a generic OpenAI-compatible server rejects stream_options. Each fact
is keyed by a topic and the server's base URL. forget() clears them all
(tests, or a caller whose servers changed underneath it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_known: dict[tuple[str, str], object] = {}


def remembered(topic: str, server: str, find: Callable[[], T]) -> T:
    """The fact about `server`, found by find() the first time it is asked for.

    A find() that raises remembers nothing: the next call asks again.
    """
    key = (topic, server)
    if key not in _known:
        _known[key] = find()
    return _known[key]  # type: ignore[return-value]


def known(topic: str, server: str) -> bool:
    return (topic, server) in _known


def learn(topic: str, server: str, value: object = True) -> None:
    _known[(topic, server)] = value


def forget() -> None:
    """Forget everything learned so far."""
    _known.clear()
