"""OpenAI Chat Completions, and every server that speaks it.

Kinds: openai, openai-compatible, vllm, lmstudio, localai, llamacpp. Their
base_url already ends in /v1 (config.KINDS), so requests go to
{base_url}/chat/completions and {base_url}/models. What differs between the
kinds is data (TRAITS below): the max-tokens field, how health is checked,
where context windows are listed, and what to do when no model is named.

Streaming asks for usage (stream_options.include_usage) from every kind:
OpenAI, vLLM, LM Studio >= 0.3.18 and llama.cpp honour it; LocalAI is a Go
server whose JSON decoder ignores fields it does not know, so asking costs
nothing. A generic openai-compatible server might validate strictly (pydantic
extra="forbid" answers 400/422): for that kind only, a 400/422 whose error
names stream_options (or an unknown extra field) is sent once more without
it, and the server is remembered for the rest of the process; any other 400
is answered once. Without usage, counts are estimated
by the caller (Usage.reported False), except llama.cpp, whose final chunk
carries `timings` we can count from.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from rfctl.providers import features, media, structured, thinking, wire
from rfctl.providers.answer import Answer
from rfctl.providers.base import (
    Health,
    ModelInfo,
    ProviderError,
    Request,
    Usage,
    chat_turns,
    error_message,
    normalise_finish,
    sampling,
)
from rfctl.providers.clock import Clock, ms_since, short_clock, time_left
from rfctl.providers.discovery import known, learn
from rfctl.providers.http import HTTPAdapter
from rfctl.providers.wire import as_int, cut, in_stream_error, malformed, refused


@dataclass(frozen=True)
class Traits:
    max_tokens_field: str  # openai's reasoning models reject max_tokens
    health_path: str  # GET this for health
    health_at_root: bool  # the path hangs off the server root, not base_url (/v1)
    health_lists: bool  # the health call is a model list
    no_model: str  # when none is named: "list" (first listed id) | "default" | "required"


TRAITS = {
    "openai": Traits("max_completion_tokens", "/models", False, True, "required"),
    "openai-compatible": Traits("max_tokens", "/models", False, True, "list"),
    "vllm": Traits("max_tokens", "/health", True, False, "list"),
    "lmstudio": Traits("max_tokens", "/models", False, True, "list"),
    "localai": Traits("max_tokens", "/readyz", True, False, "list"),
    # llama-server serves one model and ignores the request's model name.
    "llamacpp": Traits("max_tokens", "/health", True, False, "default"),
}

# Remembered per server (rfctl/providers/discovery.py): it rejected stream_options.
NO_STREAM_OPTIONS = "openai.no_stream_options"


class OpenAIAdapter(features.Features, HTTPAdapter):
    kind = "openai"
    protocol = "openai"
    generate_path = "/chat/completions"

    def __init__(self, provider, session=None):
        super().__init__(provider, session)
        self.kind = provider.kind
        self.traits = TRAITS[provider.kind]
        # /health, /readyz and /props hang off the server root, not /v1.
        base = self.base_url
        self.root = base[: -len("/v1")] if base.endswith("/v1") else base

    def headers(self) -> dict[str, str]:
        h = super().headers()
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def url(self, path: str) -> str:
        # Absolute URLs pass through: root endpoints such as /health.
        return path if "://" in path else f"{self.base_url}{path}"

    # ------------------------------------------------------------ generate hooks

    def payload(self, req: Request, model: str) -> dict:
        how = structured.mode(self.kind, model, req) if req.schema is not None else None
        messages = chat_turns(req)
        content = media.openai_content(structured.prompt(req, how), req.attachments)
        messages.append({"role": "user", "content": content})
        body: dict = {"model": model, "messages": messages}
        if req.prefill:  # llama-server continues a trailing assistant turn by default
            messages.append({"role": "assistant", "content": req.prefill})
            if self.kind == "vllm":  # vLLM only when told, and without a new turn
                body.update(continue_final_message=True, add_generation_prompt=False)
        limit = thinking.output_limit(req)  # reasoning counts in the output limit
        if limit is not None:
            body[self.traits.max_tokens_field] = limit
        body.update(sampling(req))
        if req.stream and not known(NO_STREAM_OPTIONS, self.base_url):
            body["stream_options"] = {"include_usage": True}
        structured.openai(body, req, how, self.kind)
        thinking.openai(body, req, self.kind)
        return body

    def no_model(self, clock: Clock) -> str:
        how = self.traits.no_model
        if how == "default":
            return "default"
        if how == "required":
            raise wire.no_model(self.name, ": set `model` in its config or pass -m")
        return super().no_model(clock)

    def first_listed(self, clock: Clock) -> str:
        ids = [m.id for m in _model_list(self.fetch_json("GET", "/models", clock))]
        # LM Studio lists every downloaded model, embedding models included.
        chat = [i for i in ids if "embed" not in i.lower()] or ids
        if not chat:
            raise wire.no_model(self.name)
        return chat[0]

    def parse(self, body, answer: Answer, status: int) -> None:
        if not isinstance(body, dict):
            raise wire.bad_response("response is not a JSON object", status)
        if body.get("error"):  # some servers report failures with a 200
            raise _body_error(body)
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise wire.bad_response("response has no choices", status)
        choice = next(
            (c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), choices[0]
        )
        message = choice.get("message") or {}
        text = _text(message.get("content")) or _text(choice.get("text"))
        answer.finish = choice.get("finish_reason")
        _check_refusal(normalise_finish(answer.finish), text, message.get("refusal"))
        answer.on_reasoning = self.on_reasoning
        answer.think(thinking.openai_reasoning(message))
        answer.whole(text)
        answer.model = body.get("model")
        answer.usage = map_usage(body.get("usage"), body.get("timings"))
        answer.response_id = body.get("id")

    def open_stream(self, payload: dict, clock: Clock):
        try:
            return super().open_stream(payload, clock)
        except ProviderError as e:
            if not (
                self.kind == "openai-compatible"
                and "stream_options" in payload
                and rejects_stream_options(e, payload)
            ):
                raise
        plain = {k: v for k, v in payload.items() if k != "stream_options"}
        resp = self.open("POST", self.generate_path, clock, plain)
        learn(NO_STREAM_OPTIONS, self.base_url)
        return resp

    def read_stream(self, records, answer: Answer) -> None:
        refusal: list[str] = []
        usage = timings = None
        done = False
        answer.on_reasoning = self.on_reasoning
        for ev in records:
            data = ev.data.strip()
            if ev.event == "error":  # old llama.cpp's `error:` line, or `event: error`
                raise _event_error(data)
            if data == "[DONE]":
                done = True
                break
            try:
                obj = json.loads(data)
            except (ValueError, RecursionError):
                raise malformed(data) from None
            if not isinstance(obj, dict):
                raise malformed(data)
            if obj.get("error"):
                raise _body_error(obj)
            answer.model = obj.get("model") or answer.model
            answer.response_id = obj.get("id") or answer.response_id
            if obj.get("usage"):  # the include_usage chunk (choices: []), or vLLM's running usage
                usage = obj["usage"]
            if obj.get("timings"):
                timings = obj["timings"]
            for choice in obj.get("choices") or ():
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                answer.think(thinking.openai_reasoning(delta))
                # llama.cpp's first delta has content null: add() skips empty pieces.
                answer.add(_text(delta.get("content")) or _text(choice.get("text")))
                if isinstance(delta.get("refusal"), str):
                    refusal.append(delta["refusal"])
                if choice.get("finish_reason"):
                    answer.finish = choice["finish_reason"]
        if not done and answer.finish is None:
            raise cut("[DONE]")
        _check_refusal(normalise_finish(answer.finish), answer.text, "".join(refusal))
        answer.usage = map_usage(usage, timings)

    # ------------------------------------------------------------ health, models

    def health(self, timeout: float) -> Health:
        t0 = time.monotonic()
        path = self.traits.health_path
        if self.traits.health_at_root:
            path = self.root + path
        try:
            body = self.fetch_json("GET", path, short_clock(timeout))
        except ProviderError as e:
            if e.kind == "bad_response" and not self.traits.health_lists:
                return Health(True, ms_since(t0), "ok")  # any 2xx body means alive
            return Health(False, ms_since(t0), e.short())
        if not self.traits.health_lists:
            status = body.get("status") if isinstance(body, dict) else None
            return Health(True, ms_since(t0), str(status or "ok"), self._served(t0 + timeout))
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            return Health(False, ms_since(t0), "unexpected answer to GET /models")
        models = [m.id for m in _model_list(body)]
        return Health(True, ms_since(t0), f"{len(models)} models", models)

    def _served(self, end: float) -> list[str]:
        """Best effort, for a health endpoint that lists nothing: what /models says,
        within what is left of the health check's time."""
        body = self.fetch_spare("/models", end)
        return [m.id for m in _model_list(body)] if isinstance(body, dict) else []

    def list_models(self, timeout: float) -> list[ModelInfo]:
        end = time.monotonic() + timeout
        if self.kind == "lmstudio":
            # /api/v0/models says which models are loaded and their context.
            try:
                body = self.fetch_json("GET", self.root + "/api/v0/models", short_clock(timeout))
                return _model_list(body)
            except ProviderError as e:
                if e.kind not in ("not_found", "http", "bad_response"):
                    raise
        models = _model_list(self.fetch_json("GET", "/models", short_clock(time_left(end))))
        if self.kind == "llamacpp" and any(m.context is None for m in models):
            # Older builds list only n_ctx_train; the runtime window is in /props.
            try:
                props = self.fetch_json("GET", self.root + "/props", short_clock(time_left(end)))
            except ProviderError:
                props = None
            settings = props.get("default_generation_settings") if isinstance(props, dict) else None
            n_ctx = as_int(settings.get("n_ctx")) if isinstance(settings, dict) else None
            if n_ctx and len(models) == 1:
                models[0].context = n_ctx
        return models


# ---------------------------------------------------------------- parsing helpers

# What a strict server says about a field it does not know (pydantic
# extra="forbid", OpenAI's own wording, JSON-schema validators).
_UNKNOWN_FIELD = (
    "extra inputs are not permitted",
    "extra fields not permitted",
    "extra_forbidden",
    "unrecognized request argument",
    "unknown field",
    "unexpected keyword argument",
    "additional properties are not allowed",
    "additionalproperties",
)


def rejects_stream_options(e: ProviderError, payload: dict) -> bool:
    """A 400/422 that is about stream_options: the error names the field, or says
    the request has a field the server does not know without naming another
    one it was sent. Any other 400 (a bad parameter, a content-policy refusal)
    is the answer: sending it again would only reach the provider twice."""
    if e.status not in (400, 422) or e.kind in ("context", "refusal"):
        return False
    text = f"{e.message} {e.body or ''}".lower()
    if "stream_options" in text:
        return True
    if not any(h in text for h in _UNKNOWN_FIELD):
        return False
    others = [k for k in payload if k not in ("stream_options", "stream")]
    return not any(f"'{k}'" in text or f'"{k}"' in text or f": {k}" in text for k in others)


def map_usage(u, timings=None) -> Usage:
    """OpenAI's prompt_tokens include the cached ones; completion_tokens include reasoning.

    llama.cpp without a usage object still sends `timings` on its last chunk:
    prompt_n (evaluated) + cache_n (reused) is the input, predicted_n the output.
    """
    if isinstance(u, dict) and (
        u.get("prompt_tokens") is not None or u.get("completion_tokens") is not None
    ):
        pd = u.get("prompt_tokens_details") or {}
        cd = u.get("completion_tokens_details") or {}
        pd = pd if isinstance(pd, dict) else {}
        cd = cd if isinstance(cd, dict) else {}
        return Usage(
            input_tokens=as_int(u.get("prompt_tokens")),
            output_tokens=as_int(u.get("completion_tokens")),
            cached_input_tokens=as_int(pd.get("cached_tokens")),
            cache_write_tokens=as_int(pd.get("cache_write_tokens")),
            reasoning_tokens=as_int(cd.get("reasoning_tokens")),
            reported=True,
        )
    if isinstance(timings, dict) and (
        timings.get("prompt_n") is not None or timings.get("predicted_n") is not None
    ):
        prompt, cache = as_int(timings.get("prompt_n")), as_int(timings.get("cache_n"))
        return Usage(
            input_tokens=None if prompt is None else prompt + (cache or 0),
            output_tokens=as_int(timings.get("predicted_n")),
            cached_input_tokens=cache,
            reported=True,
        )
    return Usage()


def _model_list(body) -> list[ModelInfo]:
    """Models from any listing: OpenAI {"data": [...]}, llama.cpp's extra
    "models", LM Studio v0 (state, max_context_length), vLLM (max_model_len)."""
    items = None
    if isinstance(body, dict):
        items = body.get("data") if isinstance(body.get("data"), list) else body.get("models")
    elif isinstance(body, list):
        items = body
    out = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        mid = item.get("id") or item.get("name") or item.get("model")
        if not isinstance(mid, str) or not mid:
            continue
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        context = (
            as_int(item.get("max_model_len"))
            or as_int(meta.get("n_ctx"))
            or as_int(item.get("max_context_length"))
            or as_int(item.get("context_length"))
        )
        extra = {}
        for key in ("owned_by", "type", "root", "parent"):
            if item.get(key):
                extra[key] = item[key]
        if as_int(meta.get("n_ctx_train")):
            extra["context_train"] = as_int(meta.get("n_ctx_train"))
        loaded = None
        if isinstance(item.get("state"), str):  # LM Studio v0
            loaded = item["state"] == "loaded"
        elif isinstance(item.get("status"), dict):  # llama.cpp router mode
            loaded = item["status"].get("value") == "loaded"
        out.append(ModelInfo(mid, context=context, loaded=loaded, extra=extra))
    return out


def _text(content) -> str:
    """Message content: a string, null, or (some servers) a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "")
            for p in content
            if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _body_error(body: dict) -> ProviderError:
    message, etype, code = error_message(body)
    err = body.get("error")
    hint = err.get("code") if isinstance(err, dict) else None
    return in_stream_error(message, etype, hint if isinstance(hint, int) else None, code)


def _event_error(data: str) -> ProviderError:
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return in_stream_error(data.strip() or "error event in stream", None)
    if isinstance(obj, dict) and "error" not in obj:
        obj = {"error": obj}  # old llama.cpp: `error: {"code":400,"message":...}`
    return _body_error(obj) if isinstance(obj, dict) else in_stream_error(str(obj), None)


def _check_refusal(finish: str | None, text: str, refusal) -> None:
    if finish == "content_filter":
        raise refused(
            refusal
            or "the provider's content filter stopped the answer (finish_reason content_filter)",
            text,
        )
    if isinstance(refusal, str) and refusal and not text:
        raise refused(f"the model refused: {refusal}", text)
