"""What a request's features need of a candidate: pure decisions for the plan.

- attachments: images need capability `vision` (the model's registry entry
  must list it); PDFs a model that reads them: the Claude and OpenAI models
  with `vision` do, local models do not, and PDFs travel only on the
  Anthropic and OpenAI wires (and generic OpenAI-compatible servers, which
  speak OpenAI's); each
  provider's size limits (rfctl/attachments.py) drop a candidate the files
  do not fit, and the image tokens count toward its context window;
- --thinking / --reasoning-effort need capability `reasoning`;
- --schema: every wire has a way to ask (rfctl/providers/structured.py), the
  offline stub none.
A model the registry does not know is dropped for a capability it may lack,
unless the user pinned its provider with -p: then its capabilities are
unknown, not absent, and the server is asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rfctl.providers import structured, thinking
from rfctl.providers.base import Request

if TYPE_CHECKING:
    from rfctl.routing.candidates import Candidate

PDF_KINDS = frozenset({"anthropic", "openai", "openai-compatible"})


def required(req: Request) -> list[str]:
    """The capabilities this request needs of a model."""
    caps = []
    kinds = {a.kind for a in req.attachments}
    if "image" in kinds:
        caps.append("vision")
    if "pdf" in kinds:
        caps.append("pdf")
    if thinking.wanted(req):
        caps.append("reasoning")
    return caps


def unmet(c: Candidate, req: Request, *, pinned: bool) -> str | None:
    """Why c cannot serve this request's features, or None."""
    kind = c.provider.kind
    if kind == "stub" and (req.attachments or thinking.wanted(req) or req.schema is not None):
        return "the offline stub echoes the prompt: no attachments, reasoning or JSON schema"
    if any(a.kind == "pdf" for a in req.attachments) and kind not in PDF_KINDS:
        return f"the {kind} protocol carries no PDF attachments"
    for cap in required(req):
        if c.entry is None:
            if pinned:
                continue
            return f"capabilities unknown: {c.model or 'its model'} is not in the registry (needs {cap})"
        if cap == "pdf" and not reads_pdf(c.entry):
            return f"{c.entry.id} cannot read PDFs (only Claude and OpenAI vision models do)"
        if cap != "pdf" and not c.entry.has(cap):
            return f"{c.entry.id} lacks capability {cap}"
    return None


def reads_pdf(entry) -> bool:
    return entry.vendor in ("anthropic", "openai") and entry.has("vision")


def too_big(c: Candidate, req: Request) -> str | None:
    if not req.attachments:
        return None
    from rfctl import attachments

    why = attachments.over_limit(c.provider.kind, req.attachments)
    return f"attachment too large for it: {why}" if why else None


def extra_tokens(c: Candidate, req: Request) -> int:
    """Prompt tokens the attachments add for this candidate."""
    if not req.attachments:
        return 0
    from rfctl import attachments

    return attachments.tokens(c.provider.kind, c.model, req.attachments)


def note(c: Candidate, req: Request) -> str:
    """How this candidate will be asked, for --dry-run ("" when nothing applies)."""
    parts = []
    if req.attachments:
        parts.append(f"attachments ~{extra_tokens(c, req)} tokens")
    if req.schema is not None:
        how = structured.mode(c.provider.kind, c.model, req)
        parts.append(f"schema via {structured.MODES[how]}")
    if thinking.wanted(req):
        parts.append(thinking.describe(c.provider.kind, req, c.model))
    return "; ".join(parts)
