"""Shared by the tests of the response cache, conversations and templates."""

from __future__ import annotations

import pytest

STORE_COMMANDS = ("cache", "conversations", "templates")


@pytest.fixture
def store_commands(monkeypatch):
    """Register the store commands in the parser that the `rfctl` fixture
    runs, whether or not rfctl.cli lists them yet."""
    from rfctl import cli

    monkeypatch.setattr(cli, "COMMANDS", tuple(dict.fromkeys(cli.COMMANDS + STORE_COMMANDS)))
