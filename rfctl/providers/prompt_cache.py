"""Anthropic prompt caching: where the cache_control breakpoints go.

The Messages API caches a prompt's prefix (tools, then system, then messages,
in that order) up to a block marked `"cache_control": {"type": "ephemeral"}`,
with a `"ttl": "1h"` for the one-hour cache (the default is five minutes).
A later request whose prefix is byte-identical reads it back at a tenth of
the input price; writing costs 1.25x (5 minutes) or 2x (1 hour). Rules this
module keeps:

- at most 4 breakpoints per request: we place at most 2, on the system
  prompt (what a template or -s repeats on every call) and on the last block
  of the newest user message (so the next turn of a conversation, whose
  breakpoint looks back up to 20 blocks, reads everything before it);
- one TTL for every breakpoint of a request (1-hour entries must come before
  5-minute ones: with a single TTL they always do);
- only non-empty text, image and document blocks can carry a marker;
- a prefix shorter than the model's minimum is silently not cached (no error,
  both usage counters 0), so a breakpoint whose prefix is certainly shorter
  (its UTF-8 byte count, an upper bound on tokens, is below the minimum) is
  left out. The minimums move with new models; unknown models get the
  smallest one, so a breakpoint is never withheld where it could work.

Other wires: OpenAI caches prompts of 1024 tokens or more by itself and
reports the reads (usage.prompt_tokens_details.cached_tokens); local servers
reuse their KV cache. Nothing is sent to them, and unknown fields are never
added to their payloads.
"""

from __future__ import annotations

import re

TTLS = ("5m", "1h")

# Minimum cacheable prefix, in tokens, by model family (Claude API).
_MINIMUMS = (
    (re.compile(r"(fable|mythos)-5(?!-preview)|opus-5|sonnet-5-5|haiku-5-5"), 512),
    (re.compile(r"mythos-preview|opus-4-7|3-5-haiku|haiku-3-5|3-haiku|haiku-3"), 2048),
    (re.compile(r"opus-4-6|opus-4-5|haiku-4-5"), 4096),
    (re.compile(r"opus-4|sonnet-4|sonnet-5|3-7-sonnet|sonnet-3-7"), 1024),
)
SMALLEST = 512
_MARKABLE = ("text", "image", "document")


def minimum_tokens(model: str | None) -> int:
    """The shortest prefix `model` caches; SMALLEST for a model not listed."""
    low = (model or "").lower()
    for pattern, tokens in _MINIMUMS:
        if pattern.search(low):
            return tokens
    return SMALLEST


def ttl_of(setting) -> str | None:
    """ "5m" | "1h" for a setting that turns caching on (True: "5m"), else None."""
    if setting is True:
        return "5m"
    return setting if setting in TTLS else None


def control(ttl: str) -> dict:
    out = {"type": "ephemeral"}
    if ttl != "5m":  # the default; left out so older servers see the classic form
        out["ttl"] = ttl
    return out


def mark(body: dict, setting, model: str | None) -> int:
    """Add the breakpoints to a Messages API payload in place; returns how
    many were placed (0 when caching is off or nothing is long enough)."""
    ttl = ttl_of(setting)
    if ttl is None:
        return 0
    least = minimum_tokens(model)
    placed = 0
    size = 0
    system = body.get("system")
    if isinstance(system, str) and system:
        size += _bytes(system)
        if size >= least:
            body["system"] = [{"type": "text", "text": system, "cache_control": control(ttl)}]
            placed += 1
    elif isinstance(system, list):
        size += sum(_block_size(b) for b in system)
        if size >= least and _mark_last(system, ttl):
            placed += 1
    messages = body.get("messages") or []
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            size += _bytes(content)
        elif isinstance(content, list):
            size += sum(_block_size(b) for b in content)
    last = messages[-1] if messages else None
    if last is not None and last.get("role") == "user" and size >= least:
        content = last.get("content")
        if isinstance(content, str) and content:
            last["content"] = [{"type": "text", "text": content, "cache_control": control(ttl)}]
            placed += 1
        elif isinstance(content, list) and _mark_last(content, ttl):
            placed += 1
    return placed


def _mark_last(blocks: list, ttl: str) -> bool:
    """Mark the last block that may carry a breakpoint."""
    for b in reversed(blocks):
        if not isinstance(b, dict) or b.get("type") not in _MARKABLE:
            continue
        if b.get("type") == "text" and not b.get("text"):
            continue  # an empty text block cannot be cached
        b["cache_control"] = control(ttl)
        return True
    return False


def _block_size(b) -> int:
    """A bound on a block's tokens that never under-counts: the bytes of its
    text, or of its base64 data (an image or a PDF costs far fewer tokens
    than its encoding has bytes)."""
    if not isinstance(b, dict):
        return 0
    source = b.get("source")
    data = source.get("data") if isinstance(source, dict) else None
    return _bytes(b.get("text")) + _bytes(data)


def _bytes(text) -> int:
    if not isinstance(text, str):
        return 0
    return len(text) if text.isascii() else len(text.encode("utf-8"))
