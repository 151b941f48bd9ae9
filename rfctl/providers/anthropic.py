"""Anthropic Messages API (POST /v1/messages), stream and non-stream.

Also works against the Anthropic-style /v1/messages of local servers
(llama-server, Ollama, vLLM, LM Studio, LocalAI): no key is sent when none is
configured, and when no model is named the first id of GET /v1/models is used.

Refusals: stop_reason "refusal" (finish_reason content_filter) fails the
attempt with ProviderError("refusal", reason, partial_text=...) instead of
returning a Result: a pipeline must not take a refusal for the answer, and
the error carries the reason (stop_details category/explanation) to the user.
"""

from __future__ import annotations

import json
import time

from rfctl.providers.answer import Answer
from rfctl.providers.base import (
    Health,
    ModelInfo,
    ProviderError,
    Request,
    Usage,
    error_message,
)
from rfctl.providers.clock import Clock, ms_since, short_clock, time_left
from rfctl.providers.http import HTTPAdapter
from rfctl.providers.wire import as_int, cut, in_stream_error, malformed, refused

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024  # the API requires max_tokens; used when the request names none

# Error types that can arrive inside a 200 stream, with the status the API
# gives the same error when it comes as an HTTP error instead: classified alike.
_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class AnthropicAdapter(HTTPAdapter):
    kind = "anthropic"
    protocol = "anthropic"
    generate_path = "/v1/messages"

    def __init__(self, provider, session=None):
        super().__init__(provider, session)
        # The paths carry /v1; tolerate a base_url that already does.
        if self.base_url.endswith("/v1"):
            self.base_url = self.base_url[: -len("/v1")]

    def headers(self) -> dict[str, str]:
        h = super().headers()
        h.setdefault("anthropic-version", API_VERSION)
        if self.api_key:
            h["x-api-key"] = self.api_key
        return h

    # ------------------------------------------------------------ generate hooks

    def payload(self, req: Request, model: str) -> dict:
        body: dict = {
            "model": model,
            "max_tokens": req.max_tokens if req.max_tokens is not None else DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": req.prompt}],
        }
        if req.system:
            body["system"] = req.system
        if req.temperature is not None:
            body["temperature"] = req.temperature
        if req.stop:
            body["stop_sequences"] = list(req.stop)
        if req.stream:
            body["stream"] = True
        return body

    def first_listed(self, clock: Clock) -> str:
        ids = [m.id for m in _models(self.fetch_json("GET", "/v1/models?limit=20", clock))]
        if not ids:
            raise ProviderError(
                "not_found",
                f"no model configured for provider {self.name!r} and the server lists none",
                transient=False,
            )
        return ids[0]  # Anthropic lists the newest first

    def parse(self, body, answer: Answer, status: int) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("content"), list):
            if isinstance(body, dict) and (body.get("type") == "error" or body.get("error")):
                raise _error(body)
            raise ProviderError(
                "bad_response",
                "response is not a Messages API message",
                transient=True,
                status=status,
                accepted=True,
            )
        text = "".join(
            b.get("text", "")
            for b in body["content"]
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        )
        answer.finish = body.get("stop_reason")
        if answer.finish == "refusal":
            raise refused(_refusal_message(body.get("stop_details")), text)
        answer.whole(text)
        answer.model = body.get("model")
        answer.usage = map_usage(body.get("usage"))
        answer.response_id = body.get("id")

    def read_stream(self, records, answer: Answer) -> None:
        usage: dict = {}
        details = None
        stopped = False
        for ev in records:
            try:
                obj = json.loads(ev.data)
            except ValueError:
                if ev.event == "error":
                    raise in_stream_error(ev.data.strip(), None) from None
                raise malformed(ev.data) from None
            if not isinstance(obj, dict):
                raise malformed(ev.data)
            # The data's "type" repeats the event name; trust either.
            etype = obj.get("type") or ev.event
            if ev.event == "error" or etype == "error":
                raise _error(obj)
            if etype == "message_start":
                msg = obj.get("message") or {}
                answer.response_id = msg.get("id") or answer.response_id
                answer.model = msg.get("model") or answer.model
                _merge(usage, msg.get("usage"))
            elif etype == "content_block_delta":
                delta = obj.get("delta") or {}
                piece = delta.get("text") if delta.get("type") == "text_delta" else None
                if isinstance(piece, str):
                    answer.add(piece)
            elif etype == "message_delta":
                delta = obj.get("delta") or {}
                answer.finish = delta.get("stop_reason") or answer.finish
                details = delta.get("stop_details") or details
                _merge(usage, obj.get("usage"))  # cumulative counts
            elif etype == "message_stop":
                stopped = True
                break
            # ping, content_block_start/stop and unknown events: nothing to do
        if not stopped and answer.finish is None:
            raise cut("message_stop")
        if answer.finish == "refusal":
            raise refused(_refusal_message(details), answer.text)
        answer.usage = map_usage(usage)

    # ------------------------------------------------------------ health, models

    def health(self, timeout: float) -> Health:
        t0 = time.monotonic()
        try:
            body = self.fetch_json("GET", "/v1/models?limit=100", short_clock(timeout))
        except ProviderError as e:
            return Health(False, ms_since(t0), e.short())
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            return Health(False, ms_since(t0), "unexpected answer to GET /v1/models")
        models = [m.id for m in _models(body)]
        return Health(True, ms_since(t0), f"{len(models)} models", models)

    def list_models(self, timeout: float) -> list[ModelInfo]:
        """Every page of GET /v1/models (after_id = last_id while has_more)."""
        end = time.monotonic() + timeout
        out: list[ModelInfo] = []
        path = "/v1/models?limit=1000"
        for _ in range(50):  # a bound, in case a server keeps saying has_more
            body = self.fetch_json("GET", path, short_clock(time_left(end)))
            page = _models(body)
            out.extend(page)
            last = body.get("last_id") if isinstance(body, dict) else None
            if not (isinstance(body, dict) and body.get("has_more") and page and last):
                break
            path = f"/v1/models?limit=1000&after_id={last}"
        return out


# ---------------------------------------------------------------- parsing helpers


def map_usage(u) -> Usage:
    """Anthropic's input_tokens, cache writes and cache reads are disjoint;
    the total input is their sum. output_tokens already includes thinking."""
    if not isinstance(u, dict):
        return Usage()
    fresh = as_int(u.get("input_tokens"))
    writes = as_int(u.get("cache_creation_input_tokens"))
    reads = as_int(u.get("cache_read_input_tokens"))
    out = as_int(u.get("output_tokens"))
    total = None
    if fresh is not None or writes is not None or reads is not None:
        total = (fresh or 0) + (writes or 0) + (reads or 0)
    details = u.get("output_tokens_details")
    thinking = as_int(details.get("thinking_tokens")) if isinstance(details, dict) else None
    creation = u.get("cache_creation")  # the writes split by TTL
    writes_1h = (
        as_int(creation.get("ephemeral_1h_input_tokens")) if isinstance(creation, dict) else None
    )
    return Usage(
        input_tokens=total,
        output_tokens=out,
        cached_input_tokens=reads,
        cache_write_tokens=writes,
        cache_write_1h_tokens=writes_1h,
        reasoning_tokens=thinking,
        reported=fresh is not None or out is not None,
    )


def _merge(into: dict, usage) -> None:
    """message_delta counts are cumulative: later values replace earlier ones."""
    if isinstance(usage, dict):
        into.update({k: v for k, v in usage.items() if v is not None})


def _models(body) -> list[ModelInfo]:
    items = body.get("data") if isinstance(body, dict) else None
    out = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        extra = {k: item[k] for k in ("display_name", "created_at") if item.get(k)}
        out.append(
            ModelInfo(
                item["id"],
                context=as_int(item.get("max_input_tokens")),
                max_output=as_int(item.get("max_tokens")),
                extra=extra,
            )
        )
    return out


def _error(body: dict) -> ProviderError:
    message, etype, code = error_message(body)
    return in_stream_error(message, etype, _TYPE_STATUS.get(etype or "", 500), code)


def _refusal_message(details) -> str:
    text = "the model refused to answer (stop_reason refusal)"
    if isinstance(details, dict):
        why = ": ".join(str(details[k]) for k in ("category", "explanation") if details.get(k))
        if why:
            text += f": {why}"
    return text
