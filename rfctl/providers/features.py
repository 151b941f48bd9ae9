"""Around one protocol call, for the request's features: what was attached
(how many files, how many bytes: the usage log records that, never the
content), the reasoning relay, and the schema check of the whole answer.

The HTTP adapters' generate() runs the template (rfctl/providers/http.py)
through here. An answer that does not validate is a failed attempt, like a
refusal: the adapter raises instead of returning it (structured.check).
"""

from __future__ import annotations

from rfctl.providers import media, structured
from rfctl.providers.base import OnText, ProviderError, Request, Result, Timeouts


def generate(adapter, template, req: Request, timeouts: Timeouts, on_text: OnText | None) -> Result:
    # The stream readers hand reasoning pieces to this (Answer.think).
    adapter.on_reasoning = req.on_reasoning
    sent = media.sent(req.attachments)
    try:
        result = template(req, timeouts, on_text)
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
