"""What every adapter speaks: the request, the normalised result, the error taxonomy.

An adapter turns a Request into one HTTP exchange with its provider and returns
a Result, or raises ProviderError. It never retries and never falls back: that
is the router's job, which needs every failure classified the
same way whatever the provider, hence one small taxonomy here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rfctl.providers.text import one_line
from rfctl.redact import redact

# ---------------------------------------------------------------- request


@dataclass
class Request:
    prompt: str
    model: str | None = None  # None: the provider's configured model
    system: str | None = None
    temperature: float | None = None  # None: the server's default
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    stream: bool = False
    # Each of these only when asked for (rfctl/providers/media.py, structured.py, thinking.py).
    attachments: list = field(default_factory=list)  # media.Attachment, sent with the prompt
    schema: dict | None = None  # the answer must be a JSON document valid against it
    thinking: int | None = None  # reasoning budget in tokens (--thinking)
    reasoning_effort: str | None = None  # low | medium | high
    # Told each piece of reasoning text as it arrives (--show-thinking).
    on_reasoning: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    # A conversation's earlier turns, oldest first ({"role", "content"}; the
    # system prompt stays in `system`); `prompt` is the new user message.
    messages: list[dict] | None = None
    cache_prompt: str | bool | None = None  # "5m" | "1h" | False (off); None: the provider's
    # The answer so far, to be continued: sent as a trailing assistant turn
    # (a prefill), which the model carries on from; None or "": a new answer.
    prefill: str | None = None


def history(req: Request) -> list[dict]:
    """req.messages as every chat wire accepts them before the new user
    message: user and assistant turns alternating, starting with a question
    and ending with its answer. Consecutive turns of one role are merged
    (Anthropic merges them anyway; strict local chat templates reject them),
    system turns are left out (the system prompt goes where each wire puts
    it), and an unanswered question at the end is dropped, so the new prompt
    never follows a user turn and no request ends on an assistant prefill."""
    out: list[dict] = []
    for m in req.messages or ():
        role, content = m.get("role"), m.get("content")
        if role not in ("user", "assistant") or not isinstance(content, str) or not content:
            continue
        if not out and role == "assistant":
            continue  # an answer without its question
        if out and out[-1]["role"] == role:
            out[-1] = {"role": role, "content": out[-1]["content"] + "\n\n" + content}
        else:
            out.append({"role": role, "content": content})
    if out and out[-1]["role"] == "user":
        out.pop()
    return out


def chat_turns(req: Request) -> list[dict]:
    """What goes before the new user message on the wires that take the system
    prompt as a message (OpenAI, Ollama): one leading system message, then history."""
    system = [{"role": "system", "content": req.system}] if req.system else []
    return [*system, *history(req)]


def sampling(req: Request, stop_field: str = "stop") -> dict:
    """temperature, stop sequences and stream as the Anthropic and OpenAI wires
    take them (top-level fields; Ollama nests its own under "options")."""
    out: dict = {}
    if req.temperature is not None:
        out["temperature"] = req.temperature
    if req.stop:
        out[stop_field] = list(req.stop)
    if req.stream:
        out["stream"] = True
    return out


def input_text(req: Request) -> str:
    """The text of every message sent: the history's turns, then the prompt
    (what the context window and the price are counted on)."""
    if not req.messages:
        return req.prompt
    return "\n".join([*(m["content"] for m in history(req)), req.prompt])


# Called with each piece of text as it arrives from a stream.
OnText = Callable[[str], None]


# ---------------------------------------------------------------- result


@dataclass
class Usage:
    input_tokens: int | None = None  # total input, cached included
    output_tokens: int | None = None  # reasoning included
    cached_input_tokens: int | None = None  # cache reads (part of input_tokens)
    cache_write_tokens: int | None = None  # cache writes (part of input_tokens)
    cache_write_1h_tokens: int | None = None  # the 1-hour part of cache_write_tokens
    reasoning_tokens: int | None = None  # part of output_tokens
    reported: bool = False  # True when the server said so; False: unknown or estimated
    # Set by the ledger when it prices a call that read or wrote the provider's
    # prompt cache: the full-price cost of the same tokens minus what was paid.
    saved_usd: float | None = None

    @property
    def source(self) -> str:
        return "provider" if self.reported else "estimate"


@dataclass
class Result:
    text: str
    finish_reason: str | None  # normalised: stop | length | tool_calls | content_filter | ...
    model: str | None  # as reported by the server
    usage: Usage
    latency_ms: float = 0.0
    ttft_ms: float | None = None  # streamed calls only
    stream: bool = False
    http_status: int | None = 200
    response_id: str | None = None
    reasoning: str | None = None  # the model's reasoning text, when the server returns it
    attachments: int | None = None  # files sent with the prompt, and their bytes
    attachment_bytes: int | None = None


def normalise_finish(reason: str | None) -> str | None:
    """Map each API's stop reason onto OpenAI's vocabulary."""
    if reason is None or reason == "":
        return None
    return _FINISH.get(reason, reason)


_FINISH = {
    # Anthropic
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "model_context_window_exceeded": "length",
    "pause_turn": "stop",
    # Ollama: stop / length already match; llama.cpp native: eos / limit / word
    "eos": "stop",
    "word": "stop",
    "limit": "length",
}


# ---------------------------------------------------------------- errors


class ProviderError(Exception):
    """One failed attempt, classified.

    kind is one of:
      connect     could not connect (refused, DNS, TLS)
      timeout     connect/first-byte/stall/attempt time ran out
      http        the server answered with an error status (see status)
      rate_limit  429 (transient unless quota)
      quota       out of credits: 429 insufficient_quota, 402 (never transient)
      auth        401/403
      not_found   404: unknown model or endpoint
      context     the prompt does not fit the model's context window
      refusal     content policy: the model or the server refused the content
      overloaded  529 / overloaded_error
      stream      the stream broke: error event, cut, malformed
      bad_response  a 2xx whose body is not what the protocol promises
    transient says whether trying the same provider again may help.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        transient: bool,
        status: int | None = None,
        provider_type: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        partial_text: str = "",
        accepted: bool = False,
    ):
        # One line, valid Unicode, no secrets: repr() and tracebacks show args too.
        message = redact(one_line(message))
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.transient = transient
        self.status = status
        self.provider_type = provider_type  # the provider's own error type string
        self.retry_after = retry_after  # seconds the server asked us to wait
        self.should_retry = should_retry  # x-should-retry, when the server sent it
        self.partial_text = partial_text  # text already received before the failure
        self.accepted = accepted  # the server accepted the request (headers came back)
        self.body: str | None = None  # an HTTP error's body (bounded, redacted), for -v

    def __str__(self) -> str:
        return self.short()

    def short(self) -> str:
        """'http 529 overloaded_error: Overloaded' — for logs and one-line errors."""
        head = self.kind if self.status is None else f"http {self.status}"
        if self.provider_type:
            head += f" {self.provider_type}"
        return f"{head}: {self.message}" if self.message else head


# Status codes on which the same provider may answer later: timeouts, conflicts,
# rate limits, server errors and overload, not the request's own faults.
TRANSIENT_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


_CONTEXT_HINTS = (
    "context length",
    "context_length",
    "maximum context",
    "context window",
    "exceeds the available context",
    "exceed_context_size",
    "too many tokens",
    "prompt is too long",
    "input is too long",
    "context size",
)
_POLICY_HINTS = (
    "content_policy",
    "content policy",
    "content_filter",
    "safety system",
    "flagged",
    "usage policies",
)


def classify_http(
    status: int,
    message: str,
    provider_type: str | None = None,
    code: str | None = None,
    headers=None,
) -> ProviderError:
    """Turn an error response into a ProviderError, the same way for every API."""
    low = f"{provider_type or ''} {code or ''} {message}".lower()
    retry_after = parse_retry_after(headers) if headers is not None else None
    should = None
    if headers is not None:
        v = (headers.get("x-should-retry") or "").strip().lower()
        should = True if v == "true" else False if v == "false" else None
    kw = dict(
        status=status,
        provider_type=provider_type or code,
        retry_after=retry_after,
        should_retry=should,
        accepted=True,
    )
    if status in (400, 413, 422) and any(h in low for h in _CONTEXT_HINTS):
        return ProviderError("context", message, transient=False, **kw)
    if status == 400 and any(h in low for h in _POLICY_HINTS):
        return ProviderError("refusal", message, transient=False, **kw)
    if status == 429 and "insufficient_quota" in low:
        return ProviderError("quota", message, transient=False, **kw)
    if status == 402:
        return ProviderError("quota", message, transient=False, **kw)
    if status in (401, 403):
        return ProviderError("auth", message, transient=False, **kw)
    if status == 404:
        return ProviderError("not_found", message, transient=False, **kw)
    if status == 429:
        return ProviderError("rate_limit", message, transient=True, **kw)
    if status == 529 or "overloaded" in low:
        return ProviderError("overloaded", message, transient=status >= 500 or status == 429, **kw)
    # x-should-retry is recorded, not applied: whether to ask again is the
    # retry policy's call, not the adapter's; `transient` stays what the status
    # says, so a 503 that asks not to be retried still makes exit 75.
    transient = status in TRANSIENT_STATUS or status >= 500
    return ProviderError("http", message, transient=transient, **kw)


def parse_retry_after(headers) -> float | None:
    """retry-after-ms, then Retry-After in seconds or as an HTTP date."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import time
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def error_message(body) -> tuple[str, str | None, str | None]:
    """(message, type, code) from any of the error envelopes servers send.

    OpenAI/vLLM/llama.cpp/LocalAI: {"error": {"message", "type", "code"}};
    Anthropic: {"type": "error", "error": {"type", "message"}};
    old vLLM: {"object": "error", "message", "type"}; vLLM auth and Ollama:
    {"error": "text"}.
    """
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            code = err.get("code")
            return (
                str(err.get("message") or err.get("type") or "error"),
                err.get("type") or None,
                None if code is None or isinstance(code, int) else str(code),
            )
        if isinstance(err, str):
            return err, None, None
        if body.get("object") == "error" or "message" in body:
            return str(body.get("message", "error")), body.get("type"), None
        if "detail" in body:  # FastAPI / pydantic validation errors
            return _detail(body["detail"]), None, None
    if isinstance(body, str) and body.strip():
        return body.strip()[:300], None, None
    return "", None, None


def _detail(detail) -> str:
    """FastAPI's detail: a string, or pydantic's [{"loc": [...], "msg": ...}, ...]."""
    if not isinstance(detail, list):
        return str(detail)
    out = []
    for item in detail[:5]:
        if isinstance(item, dict):
            loc = ".".join(str(x) for x in item.get("loc") or () if x != "body")
            msg = str(item.get("msg") or item.get("type") or "invalid")
            out.append(f"{loc}: {msg}" if loc else msg)
        else:
            out.append(str(item))
    return "; ".join(out) or "invalid request"


# ---------------------------------------------------------------- adapter


@dataclass
class Timeouts:
    """Bounds on one attempt, in seconds; `deadline` is an absolute time.monotonic()."""

    connect: float = 5.0
    first_byte: float = 60.0
    stall: float = 30.0
    attempt: float = 60.0
    deadline: float | None = None


@dataclass
class ModelInfo:
    """A model a server lists right now (rfctl models)."""

    id: str
    context: int | None = None
    max_output: int | None = None
    loaded: bool | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Health:
    ok: bool
    latency_ms: float
    detail: str = ""
    models: list[str] = field(default_factory=list)
