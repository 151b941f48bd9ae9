"""One requests.Session per adapter, and its kept-alive connection reused:
streamed calls that stop reading at [DONE] still hand the connection back."""

from __future__ import annotations

import json

from faults import FaultServer

from rfctl import config
from rfctl.providers import make_adapter
from rfctl.providers.base import Request, Timeouts
from rfctl.routing.attempt import adapter_for


def provider(url: str) -> config.ProviderConfig:
    return config.ProviderConfig("local", "vllm", url, None, model="m")


def test_three_streamed_calls_share_one_connection():
    with FaultServer() as srv:
        adapter = make_adapter(provider(srv.url))
        for _ in range(3):
            result = adapter.generate(Request("hi", stream=True, max_tokens=8), Timeouts())
            assert result.text
        assert len(srv.chat()) == 3
        assert srv.connections == 1


def test_three_plain_calls_share_one_connection():
    with FaultServer() as srv:
        adapter = make_adapter(provider(srv.url))
        for _ in range(3):
            adapter.generate(Request("hi", stream=False, max_tokens=8), Timeouts())
        assert srv.connections == 1


def test_a_jsonl_batch_reuses_the_connection(rfctl, write_config):
    with FaultServer() as srv:
        write_config(f'[providers.local]\nkind = "vllm"\nbase_url = "{srv.url}"\nmodel = "m"\n')
        lines = "".join(json.dumps(f"prompt {i}") + "\n" for i in range(5))
        run = rfctl("generate", "--jsonl", "-j", "1", input=lines)
        assert run.code == 0, run.err
        assert all(json.loads(line)["ok"] for line in run.out.splitlines())
        assert len(srv.chat()) == 5
        assert srv.connections == 1


def test_routing_keeps_one_adapter_per_provider(tmp_path):
    p = provider("http://127.0.0.1:9/v1")
    first = adapter_for(p, make_adapter)
    assert adapter_for(p, make_adapter) is first


def test_a_kept_alive_connection_the_server_drops_is_not_a_failure():
    """The server answers one request per connection, then drops the
    connection when the next request arrives on it (a keep-alive limit hit
    mid-flight): that request goes out again at once on a fresh connection,
    and nothing fails."""
    import socket
    import threading

    body = json.dumps(
        {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "ok"},
                }
            ],
            "model": "m",
        }
    ).encode()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    accepted = []

    def read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            more = conn.recv(65536)
            if not more:
                return False
            data += more
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            int(h.split(b":")[1])
            for h in head.split(b"\r\n")
            if h.lower().startswith(b"content-length")
        )
        while len(rest) < length:
            rest += conn.recv(65536)
        return True

    def serve_one(conn):
        if read_request(conn):
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            read_request(conn)  # the next request on this connection...
        conn.close()  # ...is dropped unanswered

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            accepted.append(conn)
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        adapter = make_adapter(provider(f"http://127.0.0.1:{port}/v1"))
        for _ in range(3):
            assert adapter.generate(Request("hi", max_tokens=4), Timeouts()).text == "ok"
        assert len(accepted) == 3
    finally:
        srv.close()
