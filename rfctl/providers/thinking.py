"""Reasoning on the wire: what each protocol is sent for --thinking TOKENS
and --reasoning-effort LEVEL, and where each returns the reasoning text.

The reasoning budget is on top of --max-tokens: every protocol counts
reasoning inside its output limit (Anthropic max_tokens, OpenAI
max_completion_tokens, Ollama num_predict, llama-server/vLLM max_tokens), so
the limit sent is max_tokens + budget, where the budget is --thinking's
TOKENS, else the effort level's EFFORT_BUDGET. An answer that asked for
reasoning is not starved of its own --max-tokens by it.

Requests:
- Anthropic: --thinking N -> thinking {type: enabled, budget_tokens: N}
  (N >= 1024 and below max_tokens, which the addition guarantees). Effort
  alone -> adaptive thinking with output_config.effort, except on the models
  that know only the manual form (Claude 3.x and 4.0-4.5), which get the
  level's budget instead. No temperature is sent with thinking: the API
  allows none but 1.
- OpenAI: reasoning_effort (low | medium | high); --thinking alone picks the
  level from the budget (TOKENS_TO_EFFORT). No temperature: reasoning models
  accept only their default.
- OpenAI-compatible servers: reasoning_effort as OpenAI; llama-server also
  gets reasoning_format "deepseek" (the reasoning comes apart from the answer,
  in reasoning_content) and chat_template_kwargs enable_thinking; vLLM gets
  chat_template_kwargs enable_thinking and, with --thinking,
  thinking_token_budget.
- Ollama: think = the level, or true for --thinking alone (Ollama takes no
  budget).

Answers: Anthropic `thinking` blocks (and thinking_delta events); OpenAI-
compatible `reasoning` (vLLM, LM Studio, LocalAI, Ollama's /v1) or
`reasoning_content` (llama-server, older vLLM); Ollama `thinking`. OpenAI
itself returns no reasoning text, only the count.
"""

from __future__ import annotations

import re

from rfctl.providers.base import Request

EFFORTS = ("low", "medium", "high")
# The reasoning budget an effort level stands for, in tokens.
EFFORT_BUDGET = {"low": 1024, "medium": 4096, "high": 16384}
ANTHROPIC_MIN_BUDGET = 1024  # the API rejects a smaller budget_tokens


def wanted(req: Request) -> bool:
    return req.thinking is not None or req.reasoning_effort is not None


def budget(req: Request) -> int:
    """Tokens set aside for reasoning, added to the output limit; 0 without reasoning."""
    if req.thinking is not None:
        return req.thinking
    if req.reasoning_effort is not None:
        return EFFORT_BUDGET[req.reasoning_effort]
    return 0


def effort(req: Request) -> str | None:
    """The level: as asked, else the one nearest --thinking's budget."""
    if req.reasoning_effort is not None:
        return req.reasoning_effort
    if req.thinking is None:
        return None
    if req.thinking <= EFFORT_BUDGET["low"] * 2:
        return "low"
    return "medium" if req.thinking <= EFFORT_BUDGET["medium"] * 2 else "high"


def output_limit(req: Request, default: int | None = None) -> int | None:
    """max_tokens plus the reasoning budget (None stays None without reasoning)."""
    base = req.max_tokens if req.max_tokens is not None else default
    extra = budget(req)
    if not extra:
        return base
    return (base or 0) + extra


# ---------------------------------------------------------------- requests

# Claude models that take only thinking {type: enabled}: 3.x, 4, 4.1, 4.5.
_MANUAL_ONLY = re.compile(r"claude-(3|[a-z]+-4(-[015])?(-\d{8}|$)|[a-z]+-3)")


def anthropic(body: dict, req: Request, model: str) -> None:
    if not wanted(req):
        return
    body.pop("temperature", None)
    level = req.reasoning_effort
    if req.thinking is not None or _MANUAL_ONLY.match(model.lower()):
        n = max(budget(req), ANTHROPIC_MIN_BUDGET)
        body["thinking"] = {"type": "enabled", "budget_tokens": n}
        if body.get("max_tokens", 0) <= n:
            body["max_tokens"] = n + 1
        if level is not None and req.thinking is not None:
            body.setdefault("output_config", {})["effort"] = level
        return
    body["thinking"] = {"type": "adaptive"}
    body.setdefault("output_config", {})["effort"] = level


def openai(body: dict, req: Request, kind: str) -> None:
    if not wanted(req):
        return
    level = effort(req)
    if kind == "openai":
        body.pop("temperature", None)
    body["reasoning_effort"] = level
    if kind == "llamacpp":
        body["reasoning_format"] = "deepseek"
        body["chat_template_kwargs"] = {"enable_thinking": True}
    elif kind == "vllm":
        body["chat_template_kwargs"] = {"enable_thinking": True}
        if req.thinking is not None:
            body["thinking_token_budget"] = req.thinking


def ollama(body: dict, req: Request) -> None:
    if not wanted(req):
        return
    body["think"] = req.reasoning_effort if req.reasoning_effort is not None else True


def describe(kind: str, req: Request, model: str | None) -> str:
    """How reasoning is asked of this kind, for --dry-run."""
    if kind == "anthropic":
        if req.thinking is not None or _MANUAL_ONLY.match((model or "").lower()):
            return f"thinking budget {max(budget(req), ANTHROPIC_MIN_BUDGET)}"
        return f"adaptive thinking, effort {req.reasoning_effort}"
    if kind == "ollama":
        return f"think {req.reasoning_effort or 'true'}"
    return f"reasoning_effort {effort(req)}"


# ---------------------------------------------------------------- answers


def openai_reasoning(message) -> str:
    """Reasoning text of an OpenAI-compatible message or delta."""
    if not isinstance(message, dict):
        return ""
    for key in ("reasoning", "reasoning_content"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def ollama_reasoning(message) -> str:
    value = message.get("thinking") if isinstance(message, dict) else None
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------- reasoning inside the text

# Servers that do not separate reasoning (vLLM without a reasoning parser, LM
# Studio without its setting, llama-server with reasoning_format none) send
# it at the start of the answer, inside these tags. When reasoning was asked
# for, that block is taken out of the answer: it never reaches stdout.
OPEN, CLOSE = "<think>", "</think>"


def split_inline(text: str) -> tuple[str, str] | None:
    """(reasoning, answer) when text opens with a <think> block, else None."""
    head = text.lstrip()
    if not head.startswith(OPEN):
        return None
    inner = head[len(OPEN) :]
    end = inner.find(CLOSE)
    if end < 0:  # cut before the block closed: all of it was reasoning
        return inner, ""
    return inner[:end], inner[end + len(CLOSE) :].lstrip()


class InlineThinking:
    """Relays streamed answer text, sending a leading <think>...</think> block
    to on_reasoning instead (what the answer's text loses, split_inline
    removes from the Result)."""

    def __init__(self, on_text, on_reasoning=None):
        self.on_text, self.on_reasoning = on_text, on_reasoning
        self.state = "start"  # start | inside | closing (leading blanks) | after
        self.buf = ""

    def __call__(self, piece: str) -> None:
        if self.state == "after":
            self.on_text(piece)
            return
        self.buf += piece
        if self.state == "start":
            head = self.buf.lstrip()
            if len(head) < len(OPEN) and OPEN.startswith(head):
                return  # not yet known
            if not head.startswith(OPEN):
                self._answer(self.buf)
                return
            self.state, self.buf = "inside", head[len(OPEN) :]
        if self.state == "inside":
            end = self.buf.find(CLOSE)
            if end < 0:
                keep = next(
                    (n for n in range(len(CLOSE) - 1, 0, -1) if self.buf.endswith(CLOSE[:n])), 0
                )
                self._think(self.buf[: len(self.buf) - keep])
                self.buf = self.buf[len(self.buf) - keep :]
                return
            self._think(self.buf[:end])
            self.state, self.buf = "closing", self.buf[end + len(CLOSE) :]
        rest = self.buf.lstrip()
        if rest:
            self._answer(rest)
        else:
            self.buf = ""

    def flush(self) -> None:
        """The stream ended: text held back while undecided is the answer's."""
        if self.state == "start" and self.buf:
            self._answer(self.buf)

    def _answer(self, text: str) -> None:
        self.state, self.buf = "after", ""
        self.on_text(text)

    def _think(self, text: str) -> None:
        if text and self.on_reasoning is not None:
            self.on_reasoning(text)
