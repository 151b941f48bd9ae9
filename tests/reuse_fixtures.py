"""Fixtures for the generate-side tests of templates, conversations and the
response cache (registered in conftest.py): a local
OpenAI-compatible server that counts the requests it got, and a config
pointing at it."""

from __future__ import annotations

import pytest
from faults import FaultServer


@pytest.fixture
def server():
    """One OpenAI-compatible server on 127.0.0.1 that answers every request."""
    s = FaultServer().start()
    yield s
    s.stop()


@pytest.fixture
def local(server, write_config):
    """A config with one provider, `local`, at the counting server; returns it."""

    def configure(extra: str = "") -> FaultServer:
        write_config(
            "[defaults]\nretries = 0\ntimeout = 5\n\n"
            '[providers.local]\nkind = "openai-compatible"\n'
            f'base_url = "{server.url}"\nmodel = "m1"\n' + extra
        )
        return server

    configure()
    configure.server = server
    return configure
