"""Live answers that survive a cut (rfctl.routing.continuation).

The decisions are pure functions, tested as tables: which kind and model can
continue an answer, which failure is a server refusing the prefill, what the
relay passes on. Then through the real command (in-process) against local
socket servers (tests/faults.py): a primary that cuts its stream after three
words, and a llama-server-like (OpenAI kind) or Anthropic-like server that
records the payload it got and streams a continuation. Last, the real
llama-server continuing a prefilled answer.
"""

from __future__ import annotations

import json
import time

import pytest
from adapter_helpers import adapter
from conftest import run_in_process
from faults import (
    ANSWER,
    OK,
    Cut,
    FaultServer,
    Malformed,
    Seen,
    Stall,
    Status,
    _chunk,
    _head,
    _reset,
    _send_json,
    _words,
)

from rfctl import state
from rfctl.providers.base import ProviderError, Request, Timeouts, classify_http
from rfctl.routing.continuation import (
    Relay,
    claude_version,
    continues,
    rejects_prefill,
    split_prefill,
)

WRITTEN = "The quick brown "  # what the primary's Cut(after=3) writes of ANSWER
SENT = "The quick brown"  # the prefill: trailing whitespace held back
REST = " fox jumps over the lazy dog."  # a continuation, as models write one

# ---------------------------------------------------------------- who can continue


@pytest.mark.parametrize(
    "kind, model, can",
    [
        ("llamacpp", None, True),
        ("llamacpp", "qwen3-8b", True),  # a thinking template rejects it: skipped then
        ("vllm", "meta-llama/Llama-3.1-8B-Instruct", True),
        ("ollama", "llama3.2", True),
        ("anthropic", "claude-sonnet-4-5", True),
        ("anthropic", "claude-3-5-haiku-20241022", True),
        ("anthropic", "claude-opus-4-1-20250805", True),
        ("anthropic", "gemma3-270m", True),  # a local server's /v1/messages
        ("anthropic", None, True),
        ("anthropic", "claude-opus-4-6", False),
        ("anthropic", "claude-sonnet-4-6", False),
        ("anthropic", "claude-opus-4-8", False),
        ("anthropic", "claude-sonnet-5", False),
        ("anthropic", "claude-fable-5", False),
        ("openai", "gpt-4o", False),  # OpenAI's API has no prefill
        ("openai-compatible", "anything", False),  # might start over: never glued on
        ("lmstudio", "qwen3", False),
        ("localai", "phi", False),
        ("stub", None, False),
    ],
)
def test_which_candidates_can_continue_an_answer(kind, model, can):
    why = continues(kind, model)
    assert (why is None) is can
    if not can:
        assert why  # a reason for -v


@pytest.mark.parametrize("kind, can", [("anthropic", False), ("llamacpp", True), ("vllm", True)])
def test_with_reasoning_on_anthropic_cannot_continue(kind, can):
    # Anthropic refuses a prefill with thinking on; llama-server says so itself (a 400).
    assert (continues(kind, "claude-sonnet-4-5", thinking=True) is None) is can


@pytest.mark.parametrize(
    "model, version",
    [
        ("claude-3-5-sonnet-20241022", (3, 5)),
        ("claude-3-opus-latest", (3, 0)),
        ("claude-opus-4-20250514", (4, 0)),
        ("claude-sonnet-4-5-20250929", (4, 5)),
        ("claude-opus-4-6", (4, 6)),
        ("claude-opus-4.6", (4, 6)),
        ("claude-opus-4-6[1m]", (4, 6)),
        ("anthropic.claude-opus-4-1-20250805-v1:0", (4, 1)),
        ("us.anthropic.claude-sonnet-4-6-v1", (4, 6)),
        ("claude-sonnet-4-5@20250929", (4, 5)),
        ("claude-instant-1.2", (1, 2)),
        ("claude-mythos-5", (5, 0)),
        ("claude-latest", None),
        ("gpt-4o", None),
        ("", None),
    ],
)
def test_claude_versions_in_every_spelling(model, version):
    assert claude_version(model) == version


@pytest.mark.parametrize(
    "error, rejects",
    [
        (
            classify_http(
                400,
                "This model does not support assistant message prefill. "
                "The conversation must end with a user message.",
                "invalid_request_error",
            ),
            True,
        ),
        (
            classify_http(400, "Assistant response prefill is incompatible with enable_thinking."),
            True,
        ),
        (
            classify_http(400, "Cannot have 2 or more assistant messages at the end of the list."),
            True,
        ),
        (classify_http(400, "final assistant content cannot end with trailing whitespace"), True),
        (classify_http(422, "continue_final_message is not supported by this template"), True),
        (classify_http(400, "temperature must be between 0 and 2"), False),  # something else
        (classify_http(400, "prompt is too long: 300000 tokens > 200000 maximum"), False),
        (
            classify_http(401, "invalid x-api-key: assistant message"),
            False,
        ),  # auth, whatever it says
        (classify_http(500, "prefill failed"), False),  # a server error is a server error
        (ProviderError("stream", "assistant message cut", transient=True), False),
    ],
    ids=[
        "anthropic-4.6",
        "llama-thinking",
        "llama-two-assistants",
        "trailing-whitespace",
        "vllm-422",
        "other-400",
        "context",
        "auth",
        "5xx",
        "no-status",
    ],
)
def test_a_server_refusing_the_prefill_is_recognised(error, rejects):
    assert rejects_prefill(error) is rejects


@pytest.mark.parametrize(
    "written, sent, gap",
    [
        ("The quick brown ", "The quick brown", " "),
        ("The quick bro", "The quick bro", ""),
        ("Para one.\n\n", "Para one.", "\n\n"),
        ("  ", "", "  "),
    ],
)
def test_the_prefill_is_sent_without_its_trailing_whitespace(written, sent, gap):
    assert split_prefill(written) == (sent, gap)


# ---------------------------------------------------------------- the relay


class FakeLive:
    def __init__(self):
        self.written: list[str] = []
        self.chars = 0
        self.output_error = None

    def __call__(self, piece: str) -> None:
        self.written.append(piece)
        self.chars += len(piece)


@pytest.mark.parametrize(
    "pieces, shown",
    [
        ([" ", "fox ", "jumps."], ["fox ", "jumps."]),  # the space already written is dropped
        (["fox ", "jumps."], ["fox ", "jumps."]),  # no space: nothing dropped
        (["The ", "quick ", "brown", " fox ", "jumps."], ["fox ", "jumps."]),  # an echo
        (["The quick brown fox ", "jumps."], ["fox ", "jumps."]),  # an echo in one piece
        (["The ", "lazy ", "dog."], ["The lazy ", "dog."]),  # starts alike, then differs
        (["  fox"], [" fox"]),  # one space was already written, not two
    ],
    ids=["space", "no-space", "echo", "echo-one-piece", "alike-not-echo", "more-space"],
)
def test_the_relay_shows_each_character_once(pieces, shown):
    live = FakeLive()
    relay = Relay(live, SENT, " ")
    for p in pieces:
        relay(p)
    relay.finish()
    assert live.written == shown
    assert relay.chars == sum(map(len, shown))


def test_the_relay_holds_a_possible_echo_until_it_knows():
    live = FakeLive()
    relay = Relay(live, SENT, " ")
    relay("The ")
    relay("quick")
    assert live.written == []  # could still be the echo
    relay.finish()  # the answer ended there: it was text, not an echo
    assert live.written == ["The quick"]


# ---------------------------------------------------------------- payloads


@pytest.mark.parametrize(
    "kind, extra",
    [
        ("llamacpp", {}),  # prefill is llama-server's default
        ("vllm", {"continue_final_message": True, "add_generation_prompt": False}),
        ("ollama", {}),
        ("anthropic", {}),
    ],
)
def test_the_payload_ends_with_the_answer_so_far(kind, extra):
    a = adapter(kind, "http://127.0.0.1:9")
    body = a.payload(Request("Say something", stream=True, prefill=SENT), "m")
    assert body["messages"][-2] == {"role": "user", "content": "Say something"}
    assert body["messages"][-1] == {"role": "assistant", "content": SENT}
    for k, v in extra.items():
        assert body[k] == v
    plain = a.payload(Request("Say something", stream=True), "m")
    assert plain["messages"][-1]["role"] == "user"
    assert "continue_final_message" not in plain and "add_generation_prompt" not in plain


# ---------------------------------------------------------------- servers


class AnthropicServer(FaultServer):
    """An Anthropic Messages server on the fault server's sockets: POST
    /v1/messages streams OK's text as text deltas (Cut drops the connection
    after `after` of them); Status answers with an Anthropic error body."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _respond(self, conn, method, path, body, stopping) -> bool:
        if method != "POST":
            return super()._respond(conn, method, path, body, stopping)
        payload = json.loads(body or b"{}")
        action = self._next_action()
        with self._lock:
            self.seen.append(Seen(time.monotonic(), path, payload, type(action).__name__))
        if isinstance(action, Status):
            err = {"type": action.type or "invalid_request_error", "message": action.message}
            _send_json(conn, action.code, {"type": "error", "error": err})
            return True
        conn.sendall(_head(200, "text/event-stream", None, chunked=True))

        def event(name: str, data: dict) -> None:
            _chunk(conn, f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        model = payload.get("model")
        message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model}
        event("message_start", {"type": "message_start", "message": {**message, "content": []}})
        event("content_block_start", {"type": "content_block_start", "index": 0})
        for i, w in enumerate(_words(action.text)):
            if isinstance(action, Cut) and i == action.after:
                _reset(conn)
                return False
            delta = {"type": "text_delta", "text": w}
            event(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
        event("content_block_stop", {"type": "content_block_stop", "index": 0})
        usage = {"input_tokens": 12, "output_tokens": len(_words(action.text))}
        stop = {"stop_reason": "end_turn", "stop_sequence": None}
        event("message_delta", {"type": "message_delta", "delta": stop, "usage": usage})
        event("message_stop", {"type": "message_stop"})
        conn.sendall(b"0\r\n\r\n")
        return True


@pytest.fixture
def servers():
    started: list[FaultServer] = []

    def make(*script, anthropic=False) -> FaultServer:
        s = (AnthropicServer if anthropic else FaultServer)(script).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A config naming (name, kind, server, model) providers; a runner."""

    class World:
        log = tmp_path / "usage.jsonl"
        state = tmp_path / "state.json"

        def configure(self, *providers, slow=False):
            lines = ["[defaults]", "timeout = 5", "stall_timeout = 2", "deadline = 20"]
            if slow:  # a real model on a loaded machine
                lines = ["[defaults]", "timeout = 300", "stall_timeout = 120", "deadline = 600"]
            for name, kind, srv, model in providers:
                lines += [f"[providers.{name}]", f'kind = "{kind}"', f'base_url = "{srv.url}"']
                lines += [f'model = "{model}"']
            path = tmp_path / "config.toml"
            path.write_text("\n".join(lines) + "\n")
            monkeypatch.setenv("RFCTL_CONFIG", str(path))
            monkeypatch.setenv("RFCTL_USAGE_LOG", str(self.log))
            monkeypatch.setenv("RFCTL_STATE", str(self.state))

        def generate(self, *args, prompt="Say something"):
            run = run_in_process("generate", *args, prompt)
            assert "Traceback" not in run.err, run.err
            return run

        def records(self) -> list[dict]:
            if not self.log.exists():
                return []
            return [json.loads(x) for x in self.log.read_text().splitlines() if x.strip()]

    return World()


def error_lines(run) -> list[str]:
    return [x for x in run.err.splitlines() if x.startswith("rfctl: error:")]


def continuing(servers, kind: str, *script):
    """A second server of this kind (llama-server-like or Anthropic-like)."""
    if kind == "anthropic":
        return servers(*script, anthropic=True), "anthropic", "claude-sonnet-4-5"
    return servers(*script), "llamacpp", "gemma3"


@pytest.mark.parametrize("kind", ["llamacpp", "anthropic"])
@pytest.mark.parametrize(
    "continuation",
    [REST, REST.lstrip(), ANSWER],
    ids=["with-space", "without-space", "echoing-the-prefill"],
)
def test_a_live_cut_is_continued_seamlessly_by_the_next_server(servers, world, kind, continuation):
    a = servers(Cut(after=3))
    b, b_kind, b_model = continuing(servers, kind, OK(continuation))
    world.configure(("a", "openai", a, "gpt-4o"), ("b", b_kind, b, b_model))
    run = world.generate("--stream")
    assert run.code == 0, run.err
    assert run.out == ANSWER + "\n"  # one answer: nothing repeated, nothing restarted
    assert error_lines(run) == []
    [got] = b.seen
    assert got.body["messages"][-1] == {"role": "assistant", "content": SENT}
    assert got.body["messages"][-2] == {"role": "user", "content": "Say something"}
    recs = world.records()
    assert [(r["provider"], r["status"]) for r in recs] == [("a", "error"), ("b", "ok")]
    assert len({r["request_id"] for r in recs}) == 1 and [r["attempt"] for r in recs] == [1, 2]


@pytest.mark.parametrize("fault", [Stall(after=3), Malformed(at=3)], ids=["stall", "malformed"])
def test_a_stalled_or_malformed_stream_is_continued_too(servers, world, fault):
    a = servers(fault)
    b = servers(OK(REST))
    world.configure(("a", "openai", a, "gpt-4o"), ("b", "llamacpp", b, "gemma3"))
    run = world.generate("--stream")
    assert run.code == 0, run.err
    assert run.out == ANSWER + "\n"
    assert b.seen[0].body["messages"][-1] == {"role": "assistant", "content": SENT}
    assert [r["status"] for r in world.records()] == ["error", "ok"]


def test_a_server_that_rejects_the_prefill_is_skipped_and_the_next_continues(servers, world):
    a = servers(Cut(after=3))
    b = servers(Status(400, "Assistant response prefill is incompatible with enable_thinking."))
    c = servers(OK(REST), anthropic=True)
    world.configure(
        ("a", "openai", a, "gpt-4o"),
        ("b", "llamacpp", b, "qwen3"),
        ("c", "anthropic", c, "claude-sonnet-4-5"),
    )
    run = world.generate("--stream", "-v")
    assert run.code == 0, run.err
    assert run.out == ANSWER + "\n"
    assert error_lines(run) == []
    assert "answer cut: continue on b" in run.err
    assert "rejects the prefill: skip" in run.err
    assert len(b.seen) == 1 and len(c.seen) == 1  # a 400 is not retried
    assert c.seen[0].body["messages"][-1] == {"role": "assistant", "content": SENT}
    assert [r["status"] for r in world.records()] == ["error", "error", "ok"]
    assert "b" not in state.cooldowns(world.state)  # refusing a prefill is no fault


def test_a_continuing_server_that_is_down_is_passed_over_as_any_other(servers, world):
    a = servers(Cut(after=3))
    b = servers()
    b.stop()  # nothing listens there now
    c = servers(OK(REST), anthropic=True)
    world.configure(
        ("a", "openai", a, "gpt-4o"),
        ("b", "llamacpp", b, "gemma3"),
        ("c", "anthropic", c, "claude-sonnet-4-5"),
    )
    run = world.generate("--stream")
    assert run.code == 0, run.err
    assert run.out == ANSWER + "\n"
    assert "b" in state.cooldowns(world.state)  # a refused connection cools it down, as ever
    assert [r["status"] for r in world.records()] == ["error", "error", "ok"]


def test_a_continuation_cut_in_turn_is_continued_from_the_longer_text(servers, world):
    a = servers(Cut(after=3))
    b = servers(Cut(after=3, text=REST))  # writes " fox jumps " and is cut too
    c = servers(OK(" over the lazy dog."), anthropic=True)
    world.configure(
        ("a", "openai", a, "gpt-4o"),
        ("b", "llamacpp", b, "gemma3"),
        ("c", "anthropic", c, "claude-3-5-haiku"),
    )
    run = world.generate("--stream")
    assert run.code == 0, run.err
    assert run.out == ANSWER + "\n"
    assert b.seen[0].body["messages"][-1]["content"] == SENT
    assert c.seen[0].body["messages"][-1]["content"] == "The quick brown fox jumps"
    assert [r["status"] for r in world.records()] == ["error", "error", "ok"]


@pytest.mark.parametrize(
    "second, asked",
    [
        (("openai", "gpt-4o-mini"), 0),  # no prefill on OpenAI's API
        (("openai-compatible", "some-model"), 0),  # might start over
        (("anthropic", "claude-opus-4-6"), 0),  # rejects prefill: not even asked
    ],
    ids=["openai", "openai-compatible", "claude-4.6"],
)
def test_with_no_candidate_that_can_continue_the_cut_ends_the_call(servers, world, second, asked):
    a = servers(Cut(after=3))
    kind, model = second
    b = servers(anthropic=kind == "anthropic")
    world.configure(("a", "openai", a, "gpt-4o"), ("b", kind, b, model))
    run = world.generate("--stream")
    assert run.code == 75
    assert run.out == WRITTEN + "\n"  # what arrived, then nothing more
    [line] = error_lines(run)
    assert "answer cut after 16 characters from a" in line
    assert len(b.seen) == asked
    assert [r["status"] for r in world.records()] == ["error"]


def test_when_every_continuing_server_rejects_the_prefill_the_cut_ends_the_call(servers, world):
    a = servers(Cut(after=3))
    b = servers(
        Status(400, "Cannot have 2 or more assistant messages at the end of the list."),
    )
    c = servers(
        Status(
            400,
            "This model does not support assistant message prefill. "
            "The conversation must end with a user message.",
        ),
        anthropic=True,
    )
    world.configure(
        ("a", "openai", a, "gpt-4o"),
        ("b", "llamacpp", b, "gemma3"),
        ("c", "anthropic", c, "claude-sonnet-4-5"),
    )
    run = world.generate("--stream")
    assert run.code == 75
    assert run.out == WRITTEN + "\n"
    [line] = error_lines(run)
    assert "answer cut after 16 characters from a" in line  # the rejections are not the news
    assert len(b.seen) == 1 and len(c.seen) == 1
    assert [r["status"] for r in world.records()] == ["error", "error", "error"]


@pytest.mark.parametrize(
    "args",
    [(), ("--format", "json"), ("--format", "json", "--stream")],
    ids=["pipe", "json", "json-stream"],
)
def test_buffered_output_falls_over_to_a_whole_new_answer(servers, world, args):
    a = servers(Cut(after=3))
    b = servers()
    world.configure(("a", "openai", a, "gpt-4o"), ("b", "llamacpp", b, "gemma3"))
    run = world.generate(*args)
    assert run.code == 0, run.err
    [got] = b.seen
    assert got.body["messages"][-1]["role"] == "user"  # nothing to continue: nothing written
    if args:
        rec = json.loads(run.out)
        assert rec["text"] == ANSWER and "continued" not in rec
    else:
        assert run.out == ANSWER + "\n"


def test_the_json_record_says_where_the_answer_was_continued(servers, world, tmp_path):
    """What --format json prints for a call whose live answer was continued
    (result_record, from routing.run with live output)."""
    from rfctl import config, routing

    a = servers(Cut(after=3))
    b = servers(OK(REST))
    world.configure(("a", "openai", a, "gpt-4o"), ("b", "llamacpp", b, "gemma3"))
    paths = config.resolve_paths()
    cfg = config.load(paths)
    written: list[str] = []
    out = routing.run(
        cfg, paths, Request("Say something"), routing.Options(live=True), on_text=written.append
    )
    rec = routing.result_record(out)
    assert rec["ok"] is True and rec["provider"] == "b"
    assert rec["text"] == ANSWER == "".join(written)
    assert rec["continued"] == [{"provider": "b", "after": "a", "at": len(WRITTEN)}]
    assert [x["status"] for x in rec["attempts"]] == ["error", "ok"]


# ---------------------------------------------------------------- the real llama-server

PROMPT = "The capital of France is"
SLOW = Timeouts(connect=5, first_byte=300, stall=120, attempt=300)


@pytest.mark.llama
def test_llama_server_continues_a_prefilled_answer(llama_server):
    """The prefill goes in as the start of the answer (it counts as input) and
    the server writes on from it. This llama-server repeats the prefill at
    the start of its reply: the relay drops that echo (see above)."""
    import requests

    body = {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 8, "temperature": 0}
    whole = requests.post(f"{llama_server.url}/v1/chat/completions", json=body, timeout=300)
    full = whole.json()
    sent = " ".join(full["choices"][0]["message"]["content"].split(" ")[:4])  # " the capital of"
    a = adapter("llamacpp", f"{llama_server.url}/v1")
    pieces: list[str] = []
    req = Request(PROMPT, max_tokens=8, temperature=0.0, stream=True, prefill=sent)
    res = a.generate(req, SLOW, pieces.append)
    assert "".join(pieces) == res.text
    assert res.usage.input_tokens > full["usage"]["prompt_tokens"]  # the prefill was read
    assert res.usage.output_tokens <= 8
    rest = res.text[len(sent) :] if res.text.startswith(sent) else res.text
    assert rest.strip(), res.text  # and something written after it


@pytest.mark.llama
def test_a_live_cut_is_continued_by_the_real_llama_server(servers, world, llama_server):
    class Llama:
        url = f"{llama_server.url}/v1"

    a = servers(Cut(after=4, text=" the capital of the country of France."))
    world.configure(
        ("a", "openai", a, "gpt-4o"), ("local", "llamacpp", Llama, "default"), slow=True
    )
    run = world.generate("--stream", "-t", "0", "--max-tokens", "8", prompt=PROMPT)
    assert run.code == 0, run.err
    assert run.out.startswith(" the capital of ")  # what the first server wrote
    assert len(run.out.strip()) > len("the capital of")  # then the continuation
    assert not run.out.startswith(" the capital of the capital of")  # no echo
    assert [(r["provider"], r["status"]) for r in world.records()] == [
        ("a", "error"),
        ("local", "ok"),
    ]
