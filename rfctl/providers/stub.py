"""The stub provider: offline and deterministic, for tests and dry runs.

It never touches the network (and never imports requests), so `rfctl
generate -p stub` works anywhere and measures rfctl's own overhead.

Its answer is "stub: " followed by the prompt echoed back, whitespace kept
and trailing whitespace dropped. It behaves like a model where it matters to
callers:

- max_tokens counts pieces (the "stub: " prefix, then each word with the
  whitespace after it); an answer cut there ends with finish_reason "length",
  otherwise "stop";
- the answer is cut before the first stop sequence it contains ("stop");
- streaming calls on_text once per piece, in order; the pieces join to the text;
- usage is an estimate (input: words in system + prompt; output: pieces),
  so Usage.reported is False;
- model "stub-echo", whatever was asked for; system and temperature are ignored.
"""

from __future__ import annotations

import re
import time
import zlib

from rfctl.providers.base import (
    Health,
    ModelInfo,
    OnText,
    Request,
    Result,
    Timeouts,
    Usage,
)

MODEL = "stub-echo"
PREFIX = "stub: "
_PIECE = re.compile(r"\S+\s*")


class StubAdapter:
    kind = "stub"

    def __init__(self, provider, session=None):
        self.provider = provider
        self.name = provider.name

    def generate(self, req: Request, timeouts: Timeouts, on_text: OnText | None = None) -> Result:
        start = time.monotonic()
        pieces, finish = answer(req)
        ttft = None
        if req.stream and on_text is not None:
            for piece in pieces:
                if ttft is None:
                    ttft = (time.monotonic() - start) * 1000.0
                on_text(piece)
        elif req.stream:
            ttft = (time.monotonic() - start) * 1000.0
        text = "".join(pieces)
        words = len(_PIECE.findall(req.prompt)) + len(_PIECE.findall(req.system or ""))
        return Result(
            text=text,
            finish_reason=finish,
            model=MODEL,
            usage=Usage(input_tokens=words, output_tokens=len(pieces), reported=False),
            latency_ms=(time.monotonic() - start) * 1000.0,
            ttft_ms=ttft,
            stream=req.stream,
            http_status=None,
            response_id=f"stub-{zlib.crc32(text.encode()):08x}",
        )

    def health(self, timeout: float) -> Health:
        return Health(True, 0.0, "offline stub", [MODEL])

    def list_models(self, timeout: float) -> list[ModelInfo]:
        return [ModelInfo(MODEL, loaded=True)]


def answer(req: Request) -> tuple[list[str], str]:
    """The pieces of the stub's answer and its finish reason."""
    body = req.prompt.strip()
    cuts = [body.find(s) for s in req.stop if s and s in body]
    if cuts:
        body = body[: min(cuts)].rstrip()
    pieces = [PREFIX, *_PIECE.findall(body)] if body else [PREFIX]
    finish = "stop"
    if req.max_tokens is not None and len(pieces) > max(1, req.max_tokens):
        pieces = pieces[: max(1, req.max_tokens)]
        finish = "length"
    pieces[-1] = pieces[-1].rstrip()  # the answer never ends in whitespace
    return pieces, finish
