"""-a/--attach: types from the bytes, dimensions from the headers, each wire's
encoding, routing drops, size limits and the usage log."""

from __future__ import annotations

import base64
import json

import pytest
from adapter_helpers import adapter
from feature_helpers import (
    CLAUDE,
    CONFIG,
    LLAMA,
    OLLAMA,
    OPENAI,
    VLLM,
    add_anthropic,
    add_ollama,
    add_openai,
    configure,
    feature_env,
    gif,
    jpeg,
    mocked,
    pdf,
    png,
    records,
    request,
    sent,
    webp_extended,
    webp_lossless,
    webp_lossy,
)

from rfctl import attachments
from rfctl.errors import InputError


@pytest.fixture
def setup(write_config, tmp_path):
    return feature_env(write_config, tmp_path)


def write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# ---------------------------------------------------------------- types and sizes


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (png(640, 480), "image/png"),
        (jpeg(640, 480), "image/jpeg"),
        (gif(640, 480), "image/gif"),
        (webp_lossy(640, 480), "image/webp"),
        (webp_lossless(640, 480), "image/webp"),
        (webp_extended(640, 480), "image/webp"),
    ],
    ids=["png", "jpeg", "gif", "webp-vp8", "webp-vp8l", "webp-vp8x"],
)
def test_type_and_dimensions_come_from_the_bytes(data, mime):
    a = attachments.describe("picture.txt", data)  # the name says nothing
    assert a.mime == mime
    assert (a.width, a.height) == (640, 480)


def test_pdf_pages_are_counted():
    a = attachments.describe("report.bin", pdf(3))
    assert a.mime == "application/pdf" and a.pages == 3


@pytest.mark.parametrize(
    "data",
    [b"hello, world", b"\x89PNG\r\n\x1a\nshort", b"\xff\xd8\xff\xd9"],
    ids=["text", "truncated-png", "jpeg-without-frame"],
)
def test_unreadable_files_are_bad_input(data):
    with pytest.raises(InputError):
        attachments.describe("x", data)


def test_image_token_formulas():
    # Anthropic: w*h/750 after fitting 1568 px and 1.15 MP.
    assert attachments.anthropic_image_tokens(200, 300) == 80
    assert attachments.anthropic_image_tokens(4000, 4000) == pytest.approx(1534, abs=1)
    # OpenAI tiles: 1024x1024 -> 768x768 -> 4 tiles -> 85 + 4 * 170.
    assert attachments.openai_image_tokens(1024, 1024, "gpt-4o") == 765
    assert attachments.openai_image_tokens(1024, 1024, "gpt-5") == 70 + 4 * 140
    # OpenAI patches: 1024x1024 = 1024 patches x 1.62.
    assert attachments.openai_image_tokens(1024, 1024, "gpt-4.1-mini") == 1659
    assert attachments.local_image_tokens(1024, 1024, "llava", "ollama") == 768


def test_limits_per_provider():
    big = attachments.describe("big.png", png(100, 100) + b"\0" * (4 * attachments.MB))
    assert attachments.over_limit("openai", [big]) is None
    assert "5.0 MB limit per image" in attachments.over_limit("anthropic", [big])
    wide = attachments.describe("wide.png", png(9000, 100))
    assert "8000 px" in attachments.over_limit("anthropic", [wide])


# ---------------------------------------------------------------- each wire


def test_openai_gets_data_urls_and_file_parts(rfctl, setup, tmp_path):
    env, log = setup
    img = write(tmp_path, "cat.jpg", png(64, 32))  # a PNG, whatever its name
    doc = write(tmp_path, "report.pdf", pdf(2))
    with mocked() as rsps:
        add_openai(rsps, OPENAI, "a cat")
        run = rfctl("generate", "-p", "gpt", "-a", img, "-a", doc, "what is this?", env=env)
    assert run.code == 0, run.err
    assert run.out == "a cat\n"
    [part_img, part_pdf, text] = sent(rsps)["messages"][-1]["content"]
    assert part_img == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(png(64, 32)).decode()},
    }
    assert part_pdf["type"] == "file"
    assert part_pdf["file"]["filename"] == "report.pdf"
    assert part_pdf["file"]["file_data"].startswith("data:application/pdf;base64,JVBERi0")
    assert text == {"type": "text", "text": "what is this?"}
    [rec] = records(log)
    assert rec["attachments"] == 2
    assert rec["attachment_bytes"] == len(png(64, 32)) + len(pdf(2))
    raw = log.read_text()
    assert "base64" not in raw and "cat.jpg" not in raw  # counts only, never content or names


def test_anthropic_gets_image_and_document_blocks_before_the_text(rfctl, setup, tmp_path):
    env, _ = setup
    img = write(tmp_path, "a.webp", webp_lossy(10, 10))
    doc = write(tmp_path, "b.pdf", pdf(1))
    with mocked() as rsps:
        add_anthropic(rsps, [("text", "ok")])
        run = rfctl("generate", "-p", "claude", "-a", img, "-a", doc, "describe", env=env)
    assert run.code == 0, run.err
    image, document, text = sent(rsps)["messages"][0]["content"]
    assert image == {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/webp",
            "data": base64.b64encode(webp_lossy(10, 10)).decode(),
        },
    }
    assert document["type"] == "document"
    assert document["source"]["media_type"] == "application/pdf"
    assert not document["source"]["data"].startswith("data:")
    assert text == {"type": "text", "text": "describe"}


def test_ollama_gets_bare_base64_images(rfctl, setup, tmp_path, write_config):
    configure(write_config, CONFIG.replace('model = "qwen3"', 'model = "llama3.2-vision"'))
    env, _ = setup
    img = write(tmp_path, "a.gif", gif(5, 5))
    with mocked() as rsps:
        add_ollama(rsps, "a dot")
        run = rfctl("generate", "-p", "ollama", "-a", img, "what?", env=env)
    assert run.code == 0, run.err
    msg = sent(rsps)["messages"][-1]
    assert msg == {
        "role": "user",
        "content": "what?",
        "images": [base64.b64encode(gif(5, 5)).decode()],
    }
    assert rsps.seen[0].request.url == f"{OLLAMA}/api/chat"


def test_attachment_from_stdin_takes_the_prompt_from_the_arguments(rfctl, setup):
    env, _ = setup
    with mocked() as rsps:
        add_openai(rsps, OPENAI, "ok")
        run = rfctl(
            "generate",
            "-p",
            "gpt",
            "-a",
            "-",
            "caption this",
            input=png(8, 8).decode("utf-8", "surrogateescape"),
            env=env,
        )
    assert run.code == 0, run.err
    parts = sent(rsps)["messages"][-1]["content"]
    assert parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[1] == {"type": "text", "text": "caption this"}


# ---------------------------------------------------------------- errors and routing


def test_not_an_image_is_exit_65_before_sending(rfctl, setup, tmp_path):
    env, log = setup
    txt = write(tmp_path, "photo.png", b"not really")
    with mocked() as rsps:
        run = rfctl("generate", "-p", "gpt", "-a", txt, "hi", env=env)
    assert run.code == 65
    assert run.err.startswith("rfctl: error: ") and run.err.count("\n") == 1
    assert "not a PNG, JPEG, GIF or WebP image, nor a PDF" in run.err
    assert "Traceback" not in run.err
    assert len(rsps.seen) == 0 and not log.exists()


def test_missing_file_is_exit_65(rfctl, setup, tmp_path):
    env, _ = setup
    run = rfctl("generate", "-p", "gpt", "-a", str(tmp_path / "nope.png"), "hi", env=env)
    assert run.code == 65
    assert "cannot read attachment" in run.err and "Traceback" not in run.err


def test_over_the_size_limit_is_exit_65_before_sending(rfctl, setup, tmp_path):
    env, log = setup
    big = write(tmp_path, "big.png", png(100, 100) + b"\0" * (4 * attachments.MB))
    with mocked() as rsps:
        run = rfctl("generate", "-p", "claude", "-a", big, "hi", env=env)
    assert run.code == 65
    assert run.err.count("\n") == 1
    assert "no candidate can take the attachments (claude: " in run.err
    assert "limit per image" in run.err
    assert len(rsps.seen) == 0 and not log.exists()


def test_too_big_for_one_provider_falls_to_the_next(rfctl, setup, tmp_path):
    env, log = setup
    big = write(tmp_path, "big.png", png(100, 100) + b"\0" * (4 * attachments.MB))
    with mocked() as rsps:
        add_openai(rsps, OPENAI, "fine")
        run = rfctl("generate", "-p", "claude", "-p", "gpt", "-a", big, "hi", env=env)
    assert run.code == 0, run.err
    assert [c.request.url for c in rsps.seen] == [f"{OPENAI}/chat/completions"]
    assert [r["provider"] for r in records(log)] == ["gpt"]


def test_dry_run_says_why_candidates_were_dropped(rfctl, setup, tmp_path, write_config):
    configure(write_config, CONFIG.replace('model = "qwen3"', 'model = "llama3"'))
    env, _ = setup
    img = write(tmp_path, "a.png", png(1024, 1024))
    doc = write(tmp_path, "b.pdf", pdf(1))
    run = rfctl("generate", "--dry-run", "--format", "json", "-a", img, "hi", env=env)
    assert run.code == 0, run.err
    plan = json.loads(run.out)
    why = {c["provider"]: c["why"] for c in plan["dropped"]}
    assert why["ollama"] == "llama3 lacks capability vision"
    assert why["llama"].startswith("capabilities unknown")
    kept = {c["provider"]: c["why"] for c in plan["candidates"]}
    assert "attachments ~765 tokens" in kept["gpt"]  # OpenAI's tile formula
    assert "attachments ~1399 tokens" in kept["claude"]  # Anthropic's w*h/750 after resizing
    both = rfctl("generate", "--dry-run", "--format", "json", "-a", img, "-a", doc, "hi", env=env)
    dropped = {c["provider"]: c["why"] for c in json.loads(both.out)["dropped"]}
    assert dropped["ollama"] == "the ollama protocol carries no PDF attachments"
    kept = [c["provider"] for c in json.loads(both.out)["candidates"]]
    assert kept == ["gpt", "claude"]


def test_pdfs_need_a_model_that_reads_them(rfctl, setup, tmp_path, write_config):
    configure(write_config, CONFIG.replace('model = "whatever"', 'model = "llama3.2-vision"'))
    env, _ = setup
    doc = write(tmp_path, "b.pdf", pdf(1))
    run = rfctl(
        "generate", "--dry-run", "--format", "json", "-p", "compat", "-a", doc, "x", env=env
    )
    assert run.code == 69
    [dropped] = json.loads(run.out)["dropped"]
    assert (
        dropped["why"]
        == "llama3.2-vision cannot read PDFs (only Claude and OpenAI vision models do)"
    )


def test_a_pinned_server_with_an_unknown_model_is_asked(rfctl, setup, tmp_path):
    env, _ = setup
    img = write(tmp_path, "a.png", png(8, 8))
    run = rfctl(
        "generate", "--dry-run", "--format", "json", "-p", "compat", "-a", img, "x", env=env
    )
    assert run.code == 0, run.err
    assert [c["provider"] for c in json.loads(run.out)["candidates"]] == ["compat"]


def test_image_tokens_count_toward_the_context_window(rfctl, setup, tmp_path, write_config):
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n  tiny-vision:\n    vendor: local\n    context: 600\n    capabilities: [chat, vision]\n"
    )
    configure(write_config, CONFIG.replace('model = "whatever"', 'model = "tiny-vision"'))
    env, _ = setup
    env["RFCTL_MODELS"] = str(models)
    img = write(tmp_path, "a.png", png(1024, 1024))
    run = rfctl(
        "generate", "--dry-run", "-p", "compat", "--max-tokens", "10", "-a", img, "x", env=env
    )
    assert run.code == 65
    assert "attachments ~768" in run.out


def test_jsonl_lines_take_attachments(rfctl, setup, tmp_path):
    env, log = setup
    img = write(tmp_path, "a.png", png(8, 8))
    lines = (
        json.dumps({"id": "one", "prompt": "look", "attachments": [img]})
        + "\n"
        + json.dumps(
            {"id": "two", "prompt": "look", "attachments": [str(tmp_path / "missing.png")]}
        )
        + "\n"
    )
    with mocked() as rsps:
        add_openai(rsps, OPENAI, "seen")
        run = rfctl("generate", "--jsonl", "-p", "gpt", input=lines, env=env)
    assert run.code == 1
    one, two = (json.loads(x) for x in run.out.splitlines())
    assert one["ok"] is True and one["text"] == "seen"
    assert two["ok"] is False and two["error"]["code"] == 65
    assert "cannot read attachment" in two["error"]["message"]
    assert sent(rsps)["messages"][-1]["content"][0]["type"] == "image_url"
    assert records(log)[0]["attachments"] == 1


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("openai", OPENAI),
        ("llamacpp", LLAMA),
        ("vllm", VLLM),
        ("anthropic", CLAUDE),
        ("ollama", OLLAMA),
    ],
)
def test_payloads_carry_attachments_streamed_or_not(kind, url, stream):
    a = attachments.describe("x.png", png(4, 4))
    body = adapter(kind, url, key="k", model="m").payload(
        request(attachments=[a], stream=stream), "m"
    )
    user = body["messages"][-1]
    b64 = base64.b64encode(png(4, 4)).decode()
    if kind == "ollama":
        assert user["images"] == [b64] and user["content"] == "hi"
    elif kind == "anthropic":
        assert user["content"][0]["source"]["data"] == b64
    else:
        assert user["content"][0]["image_url"]["url"] == f"data:image/png;base64,{b64}"
    assert bool(body.get("stream")) is stream
