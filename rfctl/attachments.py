"""-a/--attach FILE: reading attachments, telling their type, and what each
provider allows and charges for them.

The type comes from the file's bytes, never its name: PNG, JPEG, GIF and
WebP images and PDF documents; anything else is refused (exit 65). Image
dimensions are read from the headers (PNG IHDR, JPEG SOF, GIF's screen
descriptor, WebP's VP8/VP8L/VP8X chunk) without decoding the image, and a
PDF's pages are counted from its page objects: both feed the token estimate
and the size checks, before anything is sent.

Limits (LIMITS, checked per candidate: one over its limits is dropped with
the reason, and exit 65 when none is left):
- Anthropic: 5 MB of base64 per image, 8000 px on a side, 32 MB per request
  (the files' base64, all together), 100 PDF pages.
- OpenAI: 20 MB per image, 50 MB of base64 per request, 100 PDF pages.
- local servers: no published limit; rfctl refuses to base64 more than
  100 MB into one request.

Image tokens, for the context estimate (image_tokens):
- Anthropic: width x height / 750 after the image is scaled to fit 1568 px
  on its long edge and 1.15 megapixels.
- OpenAI: tiles of 512 px after fitting 2048 px and scaling the short side
  to 768: base + per_tile x tiles (gpt-4o/4.1 85 + 170, gpt-5 70 + 140,
  o1/o3 75 + 150, gpt-4o-mini 2833 + 5667); the mini/nano "patch" models
  count 32 px patches (at most 1536) times a multiplier.
- Ollama: 768 per image (what Ollama itself reserves); other local servers:
  Gemma 3 256, Qwen-VL one per 28 x 28 px, else 768.
- PDFs: about 2,500 tokens a page (its text plus a page image).
"""

from __future__ import annotations

import math
import os
import re
import struct
import sys
from dataclasses import dataclass

from rfctl.errors import InputError, UsageError
from rfctl.providers.media import PDF, Attachment

MB = 1024 * 1024
MOST_BYTES = 100 * MB  # rfctl's own bound on one file
PDF_PAGE_TOKENS = 2500

# ---------------------------------------------------------------- reading


def load_all(names: list[str], *, stdin_ok: bool = True) -> list[Attachment]:
    if names.count("-") > 1:
        raise UsageError("-a - (stdin) can be given once")
    return [load(n, stdin_ok=stdin_ok) for n in names]


def load(name: str, *, stdin_ok: bool = True) -> Attachment:
    if name == "-":
        if not stdin_ok:
            raise UsageError("-a - reads stdin, which --jsonl reads requests from")
        if sys.stdin is None:
            raise InputError("-a -: stdin is closed")
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        data = stream.read(MOST_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
    else:
        try:
            if os.path.isdir(name):
                raise InputError(f"{name}: is a directory, not an attachment")
            with open(name, "rb") as f:
                data = f.read(MOST_BYTES + 1)
        except OSError as e:
            raise InputError(f"cannot read attachment {name}: {e.strerror}") from None
    if len(data) > MOST_BYTES:
        raise InputError(f"{name}: larger than rfctl's {MOST_BYTES // MB} MB limit per attachment")
    return describe(name, data)


def describe(name: str, data: bytes) -> Attachment:
    """The Attachment for these bytes, or InputError naming what is wrong."""
    mime = sniff(data)
    if mime is None:
        raise InputError(f"{name}: not a PNG, JPEG, GIF or WebP image, nor a PDF (by its content)")
    if mime == PDF:
        return Attachment(name, mime, data, pages=pdf_pages(data))
    dims = dimensions(data, mime)
    if dims is None:
        raise InputError(f"{name}: a {mime} image whose size cannot be read from its header")
    return Attachment(name, mime, data, width=dims[0], height=dims[1])


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if b"%PDF-" in data[:1024]:  # readers allow leading junk before the header
        return PDF
    return None


def dimensions(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) in pixels from the image's header, or None."""
    try:
        if mime == "image/png":
            if data[12:16] != b"IHDR":
                return None
            return _positive(*struct.unpack(">II", data[16:24]))
        if mime == "image/gif":
            return _positive(*struct.unpack("<HH", data[6:10]))
        if mime == "image/webp":
            return _webp(data)
        if mime == "image/jpeg":
            return _jpeg(data)
    except struct.error:
        return None
    return None


def _positive(w: int, h: int) -> tuple[int, int] | None:
    return (w, h) if w > 0 and h > 0 else None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: a key frame's start code, then 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        w, h = struct.unpack("<HH", data[26:30])
        return _positive(w & 0x3FFF, h & 0x3FFF)
    if chunk == b"VP8L":  # lossless: signature 0x2f, then 14 bits each of size - 1
        if data[20:21] != b"\x2f":
            return None
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas size - 1
        if len(data) < 30:
            return None
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    return None


# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic):
# every SOFn except DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header seen
            return None
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF:
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return _positive(w, h)
        i += 2 + length
    return None


_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_COUNT = re.compile(rb"/Count\s+(\d+)")


def pdf_pages(data: bytes) -> int:
    """Page objects counted, else the largest /Count of a page tree, else 1
    (pages packed in compressed object streams are not visible)."""
    pages = len(_PAGE.findall(data))
    if pages:
        return pages
    counts = [int(m) for m in _COUNT.findall(data)]
    return max(counts) if counts else 1


# ---------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    image_bytes: int | None  # per image
    image_base64: bool  # the image limit counts base64 characters, not file bytes
    total_bytes: int  # all attachments of one request
    max_side: int | None  # pixels
    pdf_pages: int | None


LIMITS = {
    "anthropic": Limits(5 * MB, True, 32 * MB, 8000, 100),
    "openai": Limits(20 * MB, False, 50 * MB, None, 100),
}
LOCAL = Limits(None, False, MOST_BYTES, None, None)


def limits_for(kind: str) -> Limits:
    return LIMITS.get(kind, LOCAL)


def over_limit(kind: str, attachments: list[Attachment]) -> str | None:
    """Why these attachments cannot go to this kind of provider, or None."""
    lim = limits_for(kind)
    for a in attachments:
        if a.kind == "image":
            size = _b64_size(a.size) if lim.image_base64 else a.size
            if lim.image_bytes is not None and size > lim.image_bytes:
                what = "base64" if lim.image_base64 else "bytes"
                return f"{a.name}: {_mb(size)} of {what}, over its {_mb(lim.image_bytes)} limit per image"
            if lim.max_side is not None and max(a.width or 0, a.height or 0) > lim.max_side:
                return f"{a.name}: {a.width}x{a.height} px, over its {lim.max_side} px limit"
        elif lim.pdf_pages is not None and (a.pages or 0) > lim.pdf_pages:
            return f"{a.name}: {a.pages} pages, over its {lim.pdf_pages}-page limit"
    # Every wire carries them as base64 inside the JSON request.
    total = sum(_b64_size(a.size) for a in attachments)
    if total > lim.total_bytes:
        return f"attachments of {_mb(total)} in base64, over its {_mb(lim.total_bytes)} limit per request"
    return None


def _b64_size(n: int) -> int:
    return math.ceil(n / 3) * 4


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


# ---------------------------------------------------------------- tokens


def tokens(kind: str, model: str | None, attachments: list[Attachment]) -> int:
    """What the attachments add to the prompt, in tokens, by the provider's formula."""
    return sum(_tokens(kind, (model or "").lower(), a) for a in attachments)


def _tokens(kind: str, model: str, a: Attachment) -> int:
    if a.kind == "pdf":
        return (a.pages or 1) * PDF_PAGE_TOKENS
    w, h = a.width or 1, a.height or 1
    if kind == "anthropic":
        return anthropic_image_tokens(w, h)
    if kind == "openai":
        return openai_image_tokens(w, h, model)
    return local_image_tokens(w, h, model, kind)


def anthropic_image_tokens(w: int, h: int) -> int:
    scale = min(1.0, 1568 / max(w, h), math.sqrt(1_150_000 / (w * h)))
    return math.ceil((w * scale) * (h * scale) / 750)


# (prefix, multiplier) for OpenAI's patch-counting models, longest prefix first.
_PATCH = (
    ("gpt-4.1-mini", 1.62),
    ("gpt-4.1-nano", 2.46),
    ("gpt-5-mini", 1.62),
    ("gpt-5-nano", 2.46),
    ("o4-mini", 1.72),
)
# (prefix, base, per tile) for the tile-counting models.
_TILES = (
    ("gpt-4o-mini", 2833, 5667),
    ("gpt-5", 70, 140),
    ("o1", 75, 150),
    ("o3", 75, 150),
)


def openai_image_tokens(w: int, h: int, model: str) -> int:
    for prefix, mult in _PATCH:
        if model.startswith(prefix):
            patches = math.ceil(w / 32) * math.ceil(h / 32)
            if patches > 1536:  # scaled down to fit 1536 patches
                s = math.sqrt(1536 * 32 * 32 / (w * h))
                patches = min(1536, math.ceil(w * s / 32) * math.ceil(h * s / 32))
            return math.ceil(patches * mult)
    base, tile = 85, 170  # gpt-4o, gpt-4.1 and models not listed
    for prefix, b, t in _TILES:
        if model.startswith(prefix):
            base, tile = b, t
            break
    s = min(1.0, 2048 / max(w, h))
    w2, h2 = w * s, h * s
    s = min(1.0, 768 / min(w2, h2))
    tiles = math.ceil(w2 * s / 512) * math.ceil(h2 * s / 512)
    return base + tile * tiles


def local_image_tokens(w: int, h: int, model: str, kind: str) -> int:
    if kind != "ollama":
        if "gemma" in model:
            return 256
        if "qwen" in model and "vl" in model:
            return min(16384, math.ceil(w / 28) * math.ceil(h / 28))  # max_pixels
    return 768
