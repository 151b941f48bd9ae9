"""Where answers go: stdout, live as text arrives or all at once."""

from __future__ import annotations

import sys


def stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class LiveWriter:
    """Writes streamed text to stdout as it arrives and remembers how much went out."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.chars = 0
        self.last = ""

    def __call__(self, piece: str) -> None:
        if not piece:
            return
        self.stream.write(piece)
        self.stream.flush()
        self.chars += len(piece)
        self.last = piece[-1]

    def finish(self) -> None:
        if self.chars and self.last != "\n":
            self.stream.write("\n")
        self.stream.flush()


def with_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"
