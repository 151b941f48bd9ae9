"""Ollama's native API: POST /api/chat (not its /v1 layer), NDJSON streams.

"stream" is always sent explicitly (the native API streams by default).
Options: temperature, num_predict (from max_tokens), stop. num_ctx is not
sent: changing it reloads the model, and the right window is the operator's
choice (Modelfile, OLLAMA_CONTEXT_LENGTH); `rfctl models` shows the loaded
window from /api/ps. When no model is named, the first of /api/tags is used.
"""

from __future__ import annotations

import time

from rfctl.providers import features, media, structured, thinking, wire
from rfctl.providers.answer import Answer
from rfctl.providers.base import (
    Health,
    ModelInfo,
    ProviderError,
    Request,
    Usage,
    chat_turns,
    normalise_finish,
)
from rfctl.providers.clock import Clock, ms_since, short_clock, time_left
from rfctl.providers.http import HTTPAdapter
from rfctl.providers.streams import iter_ndjson
from rfctl.providers.wire import as_int, cut, in_stream_error, malformed


class OllamaAdapter(features.Features, HTTPAdapter):
    kind = "ollama"
    protocol = "ollama"
    generate_path = "/api/chat"
    framing = "ndjson"
    path_prefixes = ("/api", "/v1")  # a base_url copied with /api or /v1 on it

    def headers(self) -> dict[str, str]:
        h = super().headers()
        if self.api_key:  # only ollama.com's hosted API wants one
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    # ------------------------------------------------------------ generate hooks

    def payload(self, req: Request, model: str) -> dict:
        how = structured.mode(self.kind, model, req) if req.schema is not None else None
        messages = chat_turns(req)
        user: dict = {"role": "user", "content": structured.prompt(req, how)}
        if req.attachments:
            user["images"] = media.ollama_images(req.attachments)
        messages.append(user)
        if req.prefill:  # /api/chat continues a trailing assistant turn (template permitting)
            messages.append({"role": "assistant", "content": req.prefill})
        options: dict = {}
        if req.temperature is not None:
            options["temperature"] = req.temperature
        limit = thinking.output_limit(req)  # thinking counts in num_predict
        if limit is not None:
            options["num_predict"] = limit
        if req.stop:
            options["stop"] = list(req.stop)
        body: dict = {"model": model, "messages": messages, "stream": bool(req.stream)}
        if options:
            body["options"] = options
        structured.ollama(body, req, how)
        thinking.ollama(body, req)
        return body

    def first_listed(self, clock: Clock) -> str:
        names = _tag_names(self.fetch_json("GET", "/api/tags", clock))
        if not names:
            raise wire.no_model(self.name, " and Ollama has none pulled")
        return names[0]

    def parse(self, body, answer: Answer, status: int) -> None:
        if not isinstance(body, dict):
            raise wire.bad_response("response is not a JSON object", status)
        if body.get("error"):
            raise _error(body)
        if not isinstance(body.get("message"), dict):
            raise wire.bad_response("response has no message", status)
        answer.on_reasoning = self.on_reasoning
        answer.think(thinking.ollama_reasoning(body.get("message")))
        answer.whole(_content(body))
        answer.finish = _finish(body)
        answer.model = body.get("model")
        answer.usage = map_usage(body)

    def records(self, lines):
        return iter_ndjson(lines)

    def read_stream(self, records, answer: Answer) -> None:
        answer.on_reasoning = self.on_reasoning
        for rec in records:
            if rec is None:
                raise malformed("a line that is not a JSON object")
            if rec.get("error"):
                raise _error(rec)
            answer.model = rec.get("model") or answer.model
            answer.think(thinking.ollama_reasoning(rec.get("message")))
            answer.add(_content(rec))  # the final done:true record may carry text too
            if rec.get("done") is True:
                answer.finish = _finish(rec)
                answer.usage = map_usage(rec)
                return
        raise cut('the final "done": true record')

    # ------------------------------------------------------------ health, models

    def health(self, timeout: float) -> Health:
        t0 = time.monotonic()
        try:
            body = self.fetch_json("GET", "/api/version", short_clock(timeout))
        except ProviderError as e:
            return Health(False, ms_since(t0), e.short())
        version = body.get("version") if isinstance(body, dict) else None
        if not version:
            return Health(False, ms_since(t0), "unexpected answer to GET /api/version")
        return Health(True, ms_since(t0), f"ollama {version}", self._pulled(t0 + timeout))

    def _pulled(self, end: float) -> list[str]:
        """Model names from /api/tags, best effort within the health check's time
        (one call: the per-model /api/show of list_models is too slow for probes)."""
        tags = self.fetch_spare("/api/tags", end)
        items = tags.get("models") if isinstance(tags, dict) else None
        return [
            str(m.get("name") or m.get("model"))
            for m in items or []
            if isinstance(m, dict) and (m.get("name") or m.get("model"))
        ]

    def list_models(self, timeout: float) -> list[ModelInfo]:
        """/api/tags, the loaded window from /api/ps, the trained one from /api/show.

        /api/show is one call per model: those stop when `timeout` runs out,
        leaving the remaining contexts unknown rather than failing the list.
        """
        end = time.monotonic() + timeout
        tags = self.fetch_json("GET", "/api/tags", short_clock(timeout))
        items = tags.get("models") if isinstance(tags, dict) else None
        loaded: dict[str, int | None] = {}
        try:
            ps = self.fetch_json("GET", "/api/ps", short_clock(time_left(end)))
        except ProviderError:
            ps = None
        running = ps.get("models") if isinstance(ps, dict) else None
        for m in running if isinstance(running, list) else ():
            if isinstance(m, dict) and isinstance(m.get("name"), str):
                loaded[m["name"]] = as_int(m.get("context_length"))
        out = []
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            name = item["name"]
            details = item.get("details") if isinstance(item.get("details"), dict) else {}
            trained = as_int(details.get("context_length"))
            if trained is None and end - time.monotonic() > 0.01:
                trained = self._trained_context(name, time_left(end))
            extra = {
                k: details[k]
                for k in ("family", "parameter_size", "quantization_level")
                if details.get(k)
            }
            if trained:
                extra["context_train"] = trained
            is_loaded = name in loaded
            # A loaded model's window is what it was loaded with; otherwise the
            # trained maximum is the best we know (the server default may be lower).
            context = loaded.get(name) if is_loaded and loaded.get(name) else trained
            out.append(ModelInfo(name, context=context, loaded=is_loaded, extra=extra))
        return out

    def _trained_context(self, name: str, timeout: float) -> int | None:
        try:
            show = self.fetch_json("POST", "/api/show", short_clock(timeout), {"model": name})
        except ProviderError:
            return None
        info = show.get("model_info") if isinstance(show, dict) else None
        if not isinstance(info, dict):
            return None
        arch = info.get("general.architecture")
        if isinstance(arch, str) and arch:
            return as_int(info.get(f"{arch}.context_length"))
        return next((as_int(v) for k, v in info.items() if k.endswith(".context_length")), None)


# ---------------------------------------------------------------- parsing helpers


def map_usage(rec) -> Usage:
    """prompt_eval_count / eval_count; Ollama omits zero counts (omitempty)."""
    if not isinstance(rec, dict):
        return Usage()
    inp, out = as_int(rec.get("prompt_eval_count")), as_int(rec.get("eval_count"))
    return Usage(input_tokens=inp, output_tokens=out, reported=inp is not None or out is not None)


def _content(rec: dict) -> str:
    message = rec.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def _finish(rec: dict) -> str | None:
    # A done record without done_reason still ended normally.
    return normalise_finish(rec.get("done_reason") or ("stop" if rec.get("done") else None))


def _tag_names(body) -> list[str]:
    items = body.get("models") if isinstance(body, dict) else None
    return (
        [m["name"] for m in items if isinstance(m, dict) and isinstance(m.get("name"), str)]
        if isinstance(items, list)
        else []
    )


def _error(rec: dict) -> ProviderError:
    err = rec.get("error")
    message = err if isinstance(err, str) else str((err or {}).get("message", err))
    return in_stream_error(message, None)
