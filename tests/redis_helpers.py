"""A real redis-server for the state tests, and a TCP proxy that makes it slow.

The server listens on 127.0.0.1 on a free port, keeps nothing on disk
(`--save '' --appendonly no`) and lives in a throwaway directory. In CI a
missing redis-server fails the tests (require_tool), it never skips them.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
from conftest import free_port, require_tool


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self, *args: str) -> bytes:
        """One command over a raw socket (no client library): the reply's first line."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            parts = [f"*{len(args)}\r\n".encode()]
            for a in args:
                parts.append(f"${len(a.encode())}\r\n{a}\r\n".encode())
            s.sendall(b"".join(parts))
            return s.recv(65536).split(b"\r\n", 1)[0]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_redis(directory, password: str | None = None, port: int | None = None) -> RedisServer:
    exe = require_tool("redis-server")
    port = port or free_port()
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    args += ["--save", "", "--appendonly", "no", "--protected-mode", "no"]
    if password:
        args += ["--requirepass", password]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(port, proc)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"redis-server exited with {proc.returncode}")
        try:
            if server.command("PING").startswith((b"+PONG", b"-NOAUTH")):
                return server
        except OSError:
            time.sleep(0.02)
    server.stop()
    pytest.fail("redis-server did not start within 10 s")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One server for the session; redis_url empties it for each test."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    assert redis_server.command("FLUSHALL") == b"+OK"
    return redis_server.url


@pytest.fixture
def own_redis(tmp_path):
    """A server of this test's own, to stop in the middle of it."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = start_redis(directory)
    yield server
    server.stop()


class DelayProxy:
    """Forwards 127.0.0.1:PORT to a server, holding every reply back DELAY seconds."""

    def __init__(self, target_port: int, delay: float):
        self.target_port, self.delay = target_port, delay
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, 0.0), daemon=True).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, self.delay), daemon=True
            ).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, delay: float) -> None:
        try:
            while data := src.recv(65536):
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        self.listener.close()
