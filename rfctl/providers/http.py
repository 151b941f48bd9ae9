"""The HTTP adapters' common part: the steps of a call, and the transport.

HTTPAdapter.generate is a template: it runs the steps every protocol shares
(start the clock, choose the model, build the payload, send, then read a
stream or a JSON body) and leaves to each adapter only small hooks: its
payload, how to read its events or body, how to find a model when none is
named. One Answer (rfctl/providers/answer.py) gathers every stream's text,
times the first token, relays pieces and builds the Result, for all of them.

Transport: one requests.Session per adapter, time bounds enforced on every
read, errors mapped to ProviderError. requests' read timeout is a gap between
bytes, not a total. So the body is always read incrementally (stream=True)
and before each read the socket timeout is set to min(stall timeout, time
left in the attempt, time left before the deadline). That bounds connect,
first byte, each stall and the attempt as a whole without threads.

A server that ignores "stream": true and answers with one JSON body (a
completion, or an error object with status 200) is read as the non-streamed
answer it is. An authenticated request never follows a redirect: the key is
for base_url's origin only, so a 3xx is an error naming where it pointed.
Error bodies become one line of text for the message; the body itself (the
first 64 KiB, redacted) stays on the ProviderError as `body`, for -v.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Iterable, Iterator

import requests

from rfctl import __version__
from rfctl.providers.answer import Answer
from rfctl.providers.base import (
    Health,
    ModelInfo,
    OnText,
    ProviderError,
    Request,
    Result,
    Timeouts,
    classify_http,
    error_message,
)
from rfctl.providers.clock import Clock, short_clock
from rfctl.providers.discovery import remembered
from rfctl.providers.streams import iter_lines, iter_sse, read_all, read_head
from rfctl.providers.text import server_text
from rfctl.providers.wire import bad_response
from rfctl.redact import display_url, redact, register_secret, secret_header

USER_AGENT = f"rfctl/{__version__}"
# An error body is read this far: enough for any real error, kept for -v.
ERROR_BODY_BYTES = 64 * 1024


class HTTPAdapter:
    """Base for adapters that speak HTTP: subclasses fill in the hooks below."""

    kind = "http"
    protocol = "http"  # names what discovery remembers about this adapter's servers
    generate_path = ""  # where generate() posts, under base_url
    framing = "sse"  # how its streams are framed: "sse" or "ndjson" (see records())
    # Suffixes its paths already carry: taken off a base_url copied with one on it.
    path_prefixes: tuple[str, ...] = ()

    def __init__(self, provider, session: requests.Session | None = None):
        self.provider = provider  # rfctl.config.ProviderConfig
        self.name = provider.name
        self.base_url = provider.base_url.rstrip("/")
        self.where = display_url(self.base_url)  # for messages: no user:password@
        self.reused = False  # True once answered: a pooled connection may have gone stale
        self.api_key = provider.key()
        register_secret(self.api_key)
        secret_headers = False
        for name, value in provider.headers.items():  # extra auth headers are secrets too
            if secret_header(name):
                secret_headers = True
                register_secret(value.split()[-1] if value.split() else value)
        # Credentials go to base_url's origin only: an authenticated request
        # does not follow a redirect (requests would carry x-api-key and
        # custom headers to whatever host the Location names).
        self.authenticated = bool(self.api_key) or secret_headers
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # iter_bytes reads raw (undecoded) bytes: ask servers not to compress.
        self.session.headers["Accept-Encoding"] = "identity"
        for suffix in self.path_prefixes:
            if self.base_url.endswith(suffix):
                self.base_url = self.base_url[: -len(suffix)]
        self.proxies = _environment_once(self.session, self.base_url)
        self.templates: dict = {}  # prepared requests to copy (_send)

    # ------------------------------------------------------------ the steps of a call

    def generate(self, req: Request, timeouts: Timeouts, on_text: OnText | None = None) -> Result:
        clock = Clock(timeouts)
        model = self.model_for(req, clock)
        payload = self.payload(req, model)
        answer = Answer(clock, on_text if req.stream else None)
        if not req.stream:
            resp, body = self.post_json(self.generate_path, payload, clock)
            self.parse(body, answer, resp.status_code)
            return answer.result(model, resp.status_code, stream=False)
        resp = self.open_stream(payload, clock)
        chunks = self.iter_bytes(resp, clock)
        try:
            head, body = _peek(chunks)
            if self.is_json_answer(resp, head):
                # The server ignored "stream": true and answered in one JSON
                # body (a completion, or an error with status 200): read it
                # as the non-streamed answer it is, not as a cut stream.
                raw = read_all(body)
                parsed = _json_or_none(raw)
                if isinstance(parsed, dict):
                    self.parse(parsed, answer, resp.status_code)
                    return answer.result(model, resp.status_code, stream=False)
                body = iter((raw,))  # not one JSON object: let the framing say what it is
            self.read_stream(self.records(iter_lines(body)), answer)
        except ProviderError as e:
            answer.failed(e)
            raise
        finally:
            chunks.close()
        return answer.result(model, resp.status_code, stream=True)

    def is_json_answer(self, resp: requests.Response, head: bytes) -> bool:
        """A JSON body where a stream was asked for: said by Content-Type, or, for
        SSE protocols, a body that opens with "{" (no SSE line can)."""
        ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json" or (ctype.endswith("+json") and "ndjson" not in ctype):
            return True
        return self.framing == "sse" and head.startswith(b"{")

    def model_for(self, req: Request, clock: Clock) -> str:
        """The request's model, else the configured one, else no_model()."""
        return req.model or self.provider.model or self.no_model(clock)

    def no_model(self, clock: Clock) -> str:
        """No model named: the first the server lists, asked once per process."""
        return remembered(
            f"{self.protocol}.first_model", self.base_url, lambda: self.first_listed(clock)
        )

    def open_stream(self, payload: dict, clock: Clock) -> requests.Response:
        return self.open("POST", self.generate_path, clock, payload)

    def records(self, lines: Iterable[str]) -> Iterable:
        """The stream's framing: SSE events unless the protocol says otherwise."""
        return iter_sse(lines)

    # ------------------------------------------------------------ hooks each adapter fills in

    def payload(self, req: Request, model: str) -> dict:
        raise NotImplementedError

    def first_listed(self, clock: Clock) -> str:
        """The model to use when none is named; ProviderError("not_found") if none."""
        raise NotImplementedError

    def parse(self, body, answer: Answer, status: int) -> None:
        """Fill `answer` from a non-streamed JSON body, or raise ProviderError."""
        raise NotImplementedError

    def read_stream(self, records: Iterable, answer: Answer) -> None:
        """Interpret the stream's records into `answer` (answer.add for text);
        raise ProviderError for an error event, a cut or a refusal."""
        raise NotImplementedError

    def health(self, timeout: float) -> Health:
        raise NotImplementedError

    def list_models(self, timeout: float) -> list[ModelInfo]:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json"}
        h.update(self.provider.headers)
        return h

    # ------------------------------------------------------------ transport

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def open(
        self,
        method: str,
        path: str,
        clock: Clock,
        payload: dict | None = None,
        headers: dict | None = None,
    ) -> requests.Response:
        """Send the request and return the response once its headers are in.

        A non-2xx status is read and raised as a classified ProviderError.
        """
        t = clock.t
        data = None if payload is None else json.dumps(payload).encode()

        def send() -> requests.Response:
            return _send(
                self,
                method,
                path,
                data,
                headers if headers is not None else self.headers(),
                timeout=(clock.bound(t.connect), clock.bound(t.first_byte)),
                allow_redirects=not self.authenticated,
            )

        try:
            try:
                resp = send()
            except requests.exceptions.ConnectionError as e:
                # A kept-alive connection the server closed while idle (its
                # keep-alive timeout or request limit) fails before any answer:
                # that is not the provider failing. Once, on a fresh connection.
                if not (self.reused and _closed_before_answer(e)):
                    raise
                resp = send()
        except requests.exceptions.ConnectTimeout:
            raise ProviderError(
                "connect", f"connect timeout to {self.where}", transient=True
            ) from None
        except requests.exceptions.ReadTimeout:
            raise ProviderError(
                "timeout", f"no response from {self.where} in time", transient=True
            ) from None
        except requests.exceptions.SSLError as e:
            raise ProviderError("connect", f"TLS error: {_reason(e)}", transient=False) from None
        except requests.exceptions.ConnectionError as e:
            raise ProviderError("connect", _connect_reason(e, self.where), transient=True) from None
        except requests.exceptions.RequestException as e:
            raise ProviderError("connect", redact(str(e)), transient=True) from None
        self.reused = True  # later calls may go out on a pooled connection
        clock.mark_first_byte()
        if resp.status_code >= 400:
            raise self.http_error(resp, clock)
        if 300 <= resp.status_code < 400:
            raise self.redirect_error(resp)
        return resp

    def redirect_error(self, resp: requests.Response) -> ProviderError:
        """A 3xx left unfollowed: authenticated, or one requests could not follow."""
        resp.close()
        target = resp.headers.get("Location") or ""
        host = _origin(requests.compat.urljoin(resp.url or self.base_url, target)) if target else ""
        why = "not followed: the request carries credentials" if self.authenticated else ""
        where = f" to {host}" if host else " without a Location"
        text = f"{self.where} answered {resp.status_code}, a redirect{where}"
        return ProviderError(
            "http",
            f"{text} ({why}); set base_url to the final address" if why else text,
            transient=False,
            status=resp.status_code,
            accepted=True,
        )

    def http_error(self, resp: requests.Response, clock: Clock) -> ProviderError:
        """The error status as a classified ProviderError. Its message is one line
        (an HTML error page becomes its text, cut short); the body, bounded and
        redacted, is kept on the error for -v output."""
        try:
            chunks = self.iter_bytes(resp, clock)
            try:
                raw = read_head(chunks, ERROR_BODY_BYTES)
            finally:
                chunks.close()
        except ProviderError:
            raw = b""
        finally:
            resp.close()
        text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            body = text
        message, etype, code = error_message(body if isinstance(body, dict) else "")
        if isinstance(body, str):
            message = body
        message = server_text(message) or resp.reason or "error"
        e = classify_http(resp.status_code, message, etype, code, resp.headers)
        e.body = redact(text)
        return e

    def iter_bytes(self, resp: requests.Response, clock: Clock) -> Iterator[bytes]:
        """The body as it arrives, each read bounded by the stall and attempt times.

        Until the first body byte the first-byte bound applies instead of the
        stall bound: some servers send headers before a long prefill. A body
        read to its end hands the connection back to the session's pool for
        the next call; so does one whose reader stopped at its terminator
        (`data: [DONE]`) when the rest arrives within a moment."""
        sock = _socket_of(resp)
        raw = resp.raw
        waiting = clock.t.first_byte
        complete = False
        timeout = None  # the socket's, as last set: each settimeout() is a syscall
        try:
            while True:
                limit = clock.bound(waiting)
                if sock is not None and (timeout is None or abs(limit - timeout) > 0.005):
                    timeout = limit
                    # Closed once the body was read to its end; read1() then says so.
                    with contextlib.suppress(OSError):
                        sock.settimeout(limit)
                try:
                    chunk = raw.read1(65536) if hasattr(raw, "read1") else raw.read(65536)
                except Exception as e:  # urllib3 wraps socket errors several ways
                    raise _read_error(e, clock, limit) from None
                if not chunk:
                    complete = True
                    return
                waiting = clock.t.stall
                yield chunk
        except GeneratorExit:
            complete = _drain(raw, sock, min(0.25, max(0.0, clock.left())))
            raise
        finally:
            if complete:
                raw.release_conn()
            else:
                resp.close()

    def read_body(self, resp: requests.Response, clock: Clock) -> bytes:
        """A whole body (JSON answers, listings), within the size limit."""
        chunks = self.iter_bytes(resp, clock)
        try:
            return read_all(chunks)
        finally:
            chunks.close()

    def post_json(self, path: str, payload: dict, clock: Clock):
        """POST and parse a whole JSON body (non-streamed generation)."""
        resp = self.open("POST", path, clock, payload)
        return resp, _json(self.read_body(resp, clock), resp, "response", 200)

    def fetch_json(self, method: str, path: str, clock: Clock, payload: dict | None = None):
        """A small JSON document (model lists, health, show), bounded by `clock`.

        None for an empty body; ProviderError("bad_response") for a body that is not JSON.
        """
        resp = self.open(method, path, clock, payload, headers=self.headers())
        raw = self.read_body(resp, clock)
        if not raw.strip():
            return None
        return _json(raw, resp, f"{path}: response", 120)

    def fetch_spare(self, path: str, end: float):
        """GET a small JSON document in the time left before `end` (a monotonic
        time): None when too little is left or the call fails. For the extras of
        a health check, which must not fail it."""
        left = end - time.monotonic()
        if left <= 0.05:
            return None
        try:
            return self.fetch_json("GET", path, short_clock(left))
        except ProviderError:
            return None


def _send(
    adapter: HTTPAdapter,
    method: str,
    path: str,
    data,
    headers: dict,
    timeout,
    allow_redirects: bool,
):
    """session.request(), without preparing the same URL and headers anew for
    every call (~0.1 ms of CPU): one prepared template per method, path and
    headers, copied with this call's body. A session holding cookies or hooks
    takes requests' whole path, which merges them. allow_redirects is False
    for an authenticated request: its credentials never follow a redirect."""
    s = adapter.session
    if s.cookies or s.hooks.get("response"):
        return s.request(
            method,
            adapter.url(path),
            data=data,
            headers=headers,
            stream=True,
            timeout=timeout,
            proxies=adapter.proxies,
            allow_redirects=allow_redirects,
        )
    templates = adapter.templates
    key = (method, path, tuple(headers.items()))
    template = templates.get(key)
    if template is None:
        if len(templates) > 32:
            templates.clear()
        request = requests.Request(method, adapter.url(path), headers=headers)
        template = templates[key] = s.prepare_request(request)
    prepared = template.copy()
    prepared.prepare_body(data, None)
    return s.send(
        prepared,
        stream=True,
        timeout=timeout,
        proxies=adapter.proxies,
        allow_redirects=allow_redirects,
        verify=s.verify,
        cert=s.cert,
    )


def _environment_once(session: requests.Session, base_url: str) -> dict:
    """What requests would read from the environment on every request (proxy
    variables and NO_PROXY, a CA bundle variable, ~/.netrc), read once per
    adapter instead: that lookup was ~0.1 ms of CPU per request in a batch.
    Returns the proxies for base_url."""
    import os

    from requests.utils import get_environ_proxies, get_netrc_auth

    proxies = get_environ_proxies(base_url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True and base_url.startswith("https:"):
        session.verify = bundle
    if session.auth is None:
        session.auth = get_netrc_auth(base_url)
    session.trust_env = False
    return proxies


def _json(raw: bytes, resp: requests.Response, what: str, shown: int):
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        # An HTML page (a captive portal, a proxy's login) shows as its text.
        snippet = server_text(raw[: shown * 8].decode("utf-8", "replace"), shown)
        raise bad_response(f"{what} is not JSON: {snippet!r}", resp.status_code) from None


def _peek(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The body's first non-blank bytes, and every chunk (those read included)."""
    seen: list[bytes] = []
    for chunk in chunks:
        seen.append(chunk)
        head = chunk.lstrip()
        if head:
            return head, itertools.chain(seen, chunks)
    return b"", iter(seen)


def _json_or_none(raw: bytes):
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        return None


def _origin(url: str) -> str:
    """scheme://host:port of a URL, credentials and path left out."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return display_url(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}:{port}" if port else f"{parts.scheme}://{host}"


def _closed_before_answer(e: Exception) -> bool:
    text = str(e)
    return any(
        w in text
        for w in (
            "RemoteDisconnected",
            "Connection reset",
            "Connection aborted",
            "BrokenPipe",
            "Broken pipe",
        )
    )


def _drain(raw, sock, seconds: float, most: int = 65536) -> bool:
    """Read what is left of a body (the chunked terminator after [DONE]) so the
    connection can be reused; False when it does not end soon or is large."""
    if seconds <= 0:
        return False
    end = time.monotonic() + seconds
    read = 0
    try:
        while read <= most:
            left = end - time.monotonic()
            if left <= 0:
                return False
            if sock is not None:
                sock.settimeout(left)
            chunk = raw.read1(most) if hasattr(raw, "read1") else raw.read(most)
            if not chunk:
                return True
            read += len(chunk)
    except Exception:
        return False
    return False


def _socket_of(resp: requests.Response):
    # urllib3 keeps the connection on the response while the body is unread.
    conn = getattr(resp.raw, "connection", None) or getattr(resp.raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    if sock is None:
        # "Connection: close" bodies: http.client hands the socket over to the
        # response's file and clears conn.sock; reach it through that file.
        fp = getattr(getattr(resp.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock


def _read_error(e: Exception, clock: Clock, limit: float) -> ProviderError:
    text = f"{type(e).__name__} {e}"
    if "timed out" in text.lower() or "timeout" in type(e).__name__.lower():
        if clock.left() <= 0.001:
            return ProviderError("timeout", "attempt timed out", transient=True, accepted=True)
        return ProviderError(
            "timeout", f"stream stalled: no data for {limit:.3g}s", transient=True, accepted=True
        )
    return ProviderError(
        "stream", f"connection broken while reading: {_reason(e)}", transient=True, accepted=True
    )


def _reason(e: Exception) -> str:
    # The innermost cause is the readable one ("Connection refused").
    inner = e
    while True:
        nxt = getattr(inner, "reason", None) or inner.__cause__ or inner.__context__
        if nxt is None or nxt is inner or not isinstance(nxt, BaseException):
            break
        inner = nxt
    return redact(str(inner).split(": ", 1)[-1] if ": " in str(inner) else str(inner))


def _connect_reason(e: Exception, base_url: str) -> str:
    text = str(e)
    for needle, words in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("Temporary failure in name resolution", "unknown host"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "connection closed before a response"),
        ("Connection aborted", "connection closed before a response"),
    ):
        if needle in text:
            return f"{words} ({base_url})"
    return f"cannot connect to {base_url}: {_reason(e)}"
