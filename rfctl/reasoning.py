"""--show-thinking: the model's reasoning text, on stderr, never stdout.

Reasoning is content, not a diagnostic, so it is not written through
rfctl/console.py's one-line messages; like console, this writer never
raises for a closed or failing stderr, and writes nothing when stderr is
closed. On a terminal (and without NO_COLOR) the text is dimmed, so it is
not mistaken for the answer. Pieces are relayed as they arrive; a lock keeps
the pieces of --jsonl workers from interleaving mid-write.
"""

from __future__ import annotations

import os
import sys
import threading

DIM, RESET = "\x1b[2m", "\x1b[0m"


class ReasoningWriter:
    def __init__(self, stream=None):
        self._stream = stream
        self._lock = threading.Lock()
        self.last = "\n"

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stderr

    def _dim(self) -> bool:
        try:
            return self.stream.isatty() and not os.environ.get("NO_COLOR")
        except (AttributeError, ValueError):
            return False

    def __call__(self, piece: str) -> None:
        if piece:
            self._write(piece)

    def then(self, on_text):
        """on_text, with the reasoning's line closed before the answer's first piece."""

        def relay(piece: str) -> None:
            self.end()
            on_text(piece)

        return relay

    def block(self, text: str | None) -> None:
        """A whole reasoning text at once (a --jsonl line's), ended by a newline."""
        if text:
            self._write(text)
            self.end()

    def end(self) -> None:
        """Close an open line, so the answer or the next message starts on its own."""
        if self.last != "\n":
            self._write("\n")

    def _write(self, text: str) -> None:
        stream = self.stream
        if stream is None:
            return
        out = f"{DIM}{text}{RESET}" if self._dim() and text != "\n" else text
        with self._lock:
            try:
                stream.write(out)
                stream.flush()
            except (OSError, ValueError, UnicodeError):
                return
            self.last = text[-1]
