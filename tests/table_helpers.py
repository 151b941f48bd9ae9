"""Shared data for the terminal-table and picture tests: providers with long
base URLs and model names, and how wide a printed line is."""

from __future__ import annotations

from rich.cells import cell_len

# Several providers whose base URLs are longer than a narrow terminal.
LONG_PROVIDERS = """\
[providers.anthropic-main]
kind = "anthropic"

[providers.openai-gateway]
kind = "openai-compatible"
base_url = "https://llm-gateway.internal.example.com/openai/deployments/production-east/v1"
models = ["gpt-4o-mini", "gpt-4.1", "o3-mini", "text-embedding-3-large", "gpt-4o"]

[providers.vllm-cluster]
kind = "vllm"
base_url = "http://gpu-node-17.cluster.example.org:8000/inference/v1"
model = "Qwen/Qwen2.5-Coder-32B-Instruct-GPTQ-Int4-with-a-very-long-name"

[providers.laptop-ollama]
kind = "ollama"
base_url = "http://127.0.0.1:11434"
"""
LONGEST_URL = "https://llm-gateway.internal.example.com/openai/deployments/production-east/v1"


def widest(text: str) -> int:
    """The widest line of text in terminal cells (an ellipsis is one cell)."""
    return max((cell_len(line) for line in text.splitlines()), default=0)
