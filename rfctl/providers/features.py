"""Around one protocol call, for the request's features: what was attached
(how many files, how many bytes: the usage log records that, never the
content), the reasoning relay (reasoning a server inlined in <think> tags
included: it never reaches the answer), and the schema check of the whole
answer.

The HTTP adapters' generate() runs the template (rfctl/providers/http.py)
through here. An answer that does not validate is a failed attempt, like a
refusal: the adapter raises instead of returning it (structured.check).
"""

from __future__ import annotations

from rfctl.providers import media, structured, thinking
from rfctl.providers.base import OnText, ProviderError, Request, Result, Timeouts


class Features:
    """Mixin before HTTPAdapter: its generate() (the template) runs through
    generate() below."""

    on_reasoning = None  # set for one call by generate()

    def generate(self, req: Request, timeouts: Timeouts, on_text: OnText | None = None) -> Result:
        return generate(self, super().generate, req, timeouts, on_text)


def generate(adapter, template, req: Request, timeouts: Timeouts, on_text: OnText | None) -> Result:
    # The stream readers hand reasoning pieces to this (Answer.think).
    adapter.on_reasoning = req.on_reasoning
    sent = media.sent(req.attachments)
    inline = None
    if thinking.wanted(req) and on_text is not None:
        on_text = inline = thinking.InlineThinking(on_text, req.on_reasoning)
    try:
        result = template(req, timeouts, on_text)
        moved = _reasoning_out_of_text(result) if thinking.wanted(req) else ""
        if moved and inline is None and req.on_reasoning is not None:
            req.on_reasoning(moved)  # not relayed while streaming: the text was buffered
        if inline is not None:
            inline.flush()
        if sent is not None:
            result.attachments, result.attachment_bytes = sent
        if req.schema is not None:
            result = structured.check(result, req.schema)
    except ProviderError as e:
        if sent is not None:
            e.attachments, e.attachment_bytes = sent
        raise
    finally:
        adapter.on_reasoning = None
        # The next attempt's reasoning (after a fallback) starts on a new line.
        end = getattr(req.on_reasoning, "end", None)
        if end is not None:
            end()
    return result


def _reasoning_out_of_text(result: Result) -> str:
    """A server that inlined its reasoning in <think> tags: take it out of
    the answer; what was taken out."""
    split = thinking.split_inline(result.text)
    if split is None:
        return ""
    reasoning, result.text = split
    result.reasoning = (result.reasoning or "") + reasoning or None
    return reasoning
