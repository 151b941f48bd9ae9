"""Attachments on the wire: one file (an image or a PDF) and how each
protocol carries it next to the prompt.

- OpenAI Chat Completions, and every OpenAI-compatible server: the user
  message's content becomes a list of parts; an image is an `image_url` part
  whose url is a `data:<mime>;base64,...` URL (llama-server rejects raw
  base64 without the data: prefix), a PDF a `file` part with `file_data` as a
  data URL and a `filename`.
- Anthropic Messages: `image` blocks (source base64, media_type, bare base64
  data) and `document` blocks (application/pdf), placed before the text, as
  the API's documentation recommends.
- Ollama's native API: `images` on the message, a list of bare base64
  strings; it takes no PDFs (routing never sends one there).

Reading files, telling their type from their bytes and checking sizes are
rfctl/attachments.py's job; this module only encodes what it is given.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

PDF = "application/pdf"


@dataclass(eq=False)
class Attachment:
    name: str  # as given on the command line (shown in errors), "-" for stdin
    mime: str  # image/png | image/jpeg | image/gif | image/webp | application/pdf
    data: bytes = field(repr=False)
    width: int | None = None  # images: pixels, from the file's header
    height: int | None = None
    pages: int | None = None  # PDFs: a count from the file's page objects
    _b64: str | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return "pdf" if self.mime == PDF else "image"

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def b64(self) -> str:
        """Standard base64, computed once: retries and fallbacks send it again."""
        if self._b64 is None:
            self._b64 = base64.b64encode(self.data).decode("ascii")
        return self._b64

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{self.b64}"

    @property
    def filename(self) -> str:
        base = self.name.replace("\\", "/").rsplit("/", 1)[-1]
        return base if base and base != "-" else ("stdin.pdf" if self.kind == "pdf" else "stdin")


def sent(attachments: list[Attachment]) -> tuple[int, int] | None:
    """(how many, their bytes) for the usage log; None without attachments."""
    if not attachments:
        return None
    return len(attachments), sum(a.size for a in attachments)


# ---------------------------------------------------------------- per protocol


def openai_content(prompt: str, attachments: list[Attachment]):
    """The user message's content: the prompt alone, or parts."""
    if not attachments:
        return prompt
    parts: list[dict] = []
    for a in attachments:
        if a.kind == "pdf":
            parts.append(
                {"type": "file", "file": {"filename": a.filename, "file_data": a.data_url}}
            )
        else:
            parts.append({"type": "image_url", "image_url": {"url": a.data_url}})
    parts.append({"type": "text", "text": prompt})
    return parts


def anthropic_content(prompt: str, attachments: list[Attachment]):
    if not attachments:
        return prompt
    blocks: list[dict] = []
    for a in attachments:
        source = {"type": "base64", "media_type": a.mime, "data": a.b64}
        blocks.append({"type": "document" if a.kind == "pdf" else "image", "source": source})
    blocks.append({"type": "text", "text": prompt})
    return blocks


def ollama_images(attachments: list[Attachment]) -> list[str]:
    return [a.b64 for a in attachments if a.kind == "image"]
