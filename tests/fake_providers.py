"""A real HTTP server on 127.0.0.1 that behaves like providers' model-list endpoints.

Each provider lives under its own path prefix (``/<name>/v1/models``) and is configured with a
:class:`Route`: its answer, its kind's authentication, Anthropic-style paging, HTTP validators,
failures and slowness. Routes can also demand another authentication (an ``api-key`` header, a
key in the query string, an AWS SigV4 signature checked with botocore, query parameters such as
``api-version``), sit at an exact path (``/api/tags``) and page their records the way a provider
documents it (:class:`Paged`: a cursor, page numbers, ``Link`` headers). ``POST`` answers a
route's ``post_body`` (an OAuth token endpoint). Every request is recorded, headers included, so
tests can assert what was (and was not) sent. Used by the tests and by ``benchmarks/run.py``.

Hostile behaviours for the hardening tests: ``encodings`` stacks Content-Encoding layers (a
decompression bomb is a body of zeros under ``gzip, gzip``), ``headers`` may carry raw non-ASCII
bytes (an ETag of ``b"\\xff"``), ``respond`` builds the answer from the request (a server that
echoes the key it was sent back inside its list), and :func:`bomb` builds a compressed body that
expands to any size without holding it in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _QuietServer(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: concurrent fetches (several processes at once,
    # a loaded machine) would see connections refused that no real provider refuses.
    request_queue_size = 128

    # A client that hangs up mid-answer (timeouts, size caps) is expected here, not an error.
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@dataclass
class Paged:
    """Records served a page at a time, each page wrapped by ``envelope(records, info)``.

    ``style`` is ``cursor`` (the next page's token arrives in the body, through ``info["next"]``,
    and comes back as the ``param`` query parameter), ``page`` (``param`` = 1, 2, ... with
    ``size_param``) or ``link`` (a ``Link: <...>; rel="next"`` header). ``info`` holds ``next``,
    ``page``, ``per_page`` and ``total``.
    """

    style: str
    records: list[Any]
    envelope: Callable[[list[Any], dict[str, Any]], Any]
    size: int = 2  # records per page at most, whatever the client asks
    param: str = "page_token"
    size_param: str | None = None


@dataclass
class Route:
    body: Any = None  # JSON-able answer; for anthropic, the full list of records
    kind: str = "openai"  # openai (Bearer), anthropic (x-api-key, paging), url (no auth)
    key: str | None = None  # the key a request must carry; None: no check
    status: int = 200
    raw: bytes | None = None  # sent as is instead of JSON-encoding body
    content_type: str = "application/json"
    delay: float = 0.0  # seconds before answering
    etag: bool = False
    last_modified: bool = False
    page_size: int = 3  # anthropic: records per page at most
    redirect: str | None = None  # Location to redirect to (302)
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # close the connection without answering
    trickle: float = 0.0  # seconds between 16-byte chunks of the body
    no_length: bool = False  # stream the body without Content-Length, then close
    # Where the key must be: ("bearer", ""), ("header", NAME) or ("query", NAME); None: by kind.
    auth: tuple[str, str] | None = None
    # AWS SigV4 the request must carry: (access key id, secret key, region, service).
    sigv4: tuple[str, str, str, str] | None = None
    require: dict[str, str] = field(default_factory=dict)  # query parameters that must be sent
    path: str | None = None  # the exact path under /<name> (None: any)
    paged: Paged | None = None
    post_body: Any = None  # the JSON a POST gets (an OAuth token endpoint)
    # Content-Encoding layers applied to the body in order (("gzip", "gzip") = gzip of gzip).
    # With raw_encoded, ``raw`` is already encoded that way (a bomb from bomb()).
    encodings: tuple[str, ...] = ()
    raw_encoded: bool = False
    # Builds the answer from the request instead of ``body`` (echo what the client sent).
    respond: Callable[[SeenRequest], Any] | None = None

    def encoded(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body).encode("utf-8")


@dataclass
class SeenRequest:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class FakeProviders:
    """``with FakeProviders() as server: server.set("groq", Route(...)); server.base_url("groq")``"""

    # A fixed Last-Modified, so If-Modified-Since can match exactly.
    LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        # host: any loopback address (127.0.0.2, ...) gives a server an origin of its own, as
        # every real provider has (vexy's per-host limits are keyed by host). tls: served over
        # https with this server context (its certificate).
        self.host = host
        self.tls = tls
        self.routes: dict[str, Route] = {}
        self.sequences: dict[str, list[Route]] = {}
        self.requests: list[SeenRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        handler = self._make_handler()
        self.httpd = _QuietServer((host, 0), handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeProviders:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def base_url(self, name: str) -> str:
        route = self.routes[name]
        if route.kind == "url":
            return f"{self.origin}/{name}/prices.json"
        return f"{self.origin}/{name}/v1"

    def set(self, name: str, route: Route) -> Route:
        self.routes[name] = route
        self.sequences.pop(name, None)
        return route

    def set_sequence(self, name: str, routes: list[Route]) -> None:
        """Answer successive requests with these routes in turn; the last one then stays."""
        self.routes[name] = routes[-1]
        self.sequences[name] = list(routes)

    def seen(self, name: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(f"/{name}/")]

    def providers_yaml(self, names: list[str] | None = None, keys: dict[str, str] | None = None) -> str:
        """A providers file pointing each named route's provider at this server."""
        import yaml

        entries = {}
        for name in names or list(self.routes):
            route = self.routes[name]
            entry: dict[str, Any] = {"base_url": self.base_url(name), "kind": route.kind}
            if keys and name in keys:
                entry["api_key_env"] = keys[name]
            entries[name] = entry
        return yaml.safe_dump(entries, sort_keys=True)

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._get()
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _get(self) -> None:
                parts = urlsplit(self.path)
                seen = SeenRequest(parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(seen)
                name = parts.path.strip("/").split("/", 1)[0]
                with server._lock:
                    sequence = server.sequences.get(name)
                    route = sequence.pop(0) if sequence and len(sequence) > 1 else server.routes.get(name)
                if route is None:
                    return self._json(404, {"error": {"message": f"no route {parts.path}"}})
                if route.delay:
                    time.sleep(route.delay)
                if route.reset:
                    import socket
                    import struct

                    # SO_LINGER 0: the close sends a TCP reset, as a crashing proxy does.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if route.redirect:
                    return self._send(302, b"", "text/plain", {"Location": route.redirect})
                if route.status != 200:
                    body = (
                        route.raw
                        if route.raw is not None
                        else json.dumps(
                            route.body if route.body is not None else {"error": {"message": "failure"}}
                        ).encode()
                    )
                    return self._send(route.status, body, route.content_type, route.headers)
                if route.path is not None and parts.path != f"/{name}{route.path}":
                    return self._json(404, {"error": {"message": f"no such path {parts.path}"}})
                if route.auth is not None and route.key is not None and not _carries_key(route, seen):
                    return self._json(401, {"error": {"message": "Invalid API key", "type": "invalid_request_error"}})
                if route.sigv4 is not None:
                    problem = _sigv4_problem(route.sigv4, self.command, f"{server.origin}{self.path}", seen.headers)
                    if problem:
                        return self._json(403, {"message": problem})
                for param, value in route.require.items():
                    if seen.query.get(param) != [value]:
                        return self._json(400, {"error": {"message": f"{param}={value} is required"}})
                if route.kind == "openai" and route.key is not None and route.auth is None:
                    if seen.headers.get("authorization") != f"Bearer {route.key}":
                        return self._json(
                            401, {"error": {"message": "Invalid API key", "type": "invalid_request_error"}}
                        )
                if route.respond is not None:
                    body = json.dumps(route.respond(seen)).encode("utf-8")
                    return self._send(200, body, route.content_type, dict(route.headers))
                if route.paged is not None:
                    return self._paged(route.paged, seen.query, parts.path)
                if route.kind == "anthropic":
                    if route.key is not None and route.auth is None and seen.headers.get("x-api-key") != route.key:
                        return self._json(401, {"type": "error", "error": {"type": "authentication_error"}})
                    if seen.headers.get("anthropic-version") != "2023-06-01":
                        return self._json(400, {"type": "error", "error": {"message": "anthropic-version required"}})
                    return self._anthropic_page(route, seen.query)
                body = route.encoded()
                headers = dict(route.headers)
                if route.etag:
                    tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    headers["ETag"] = tag
                    if seen.headers.get("if-none-match") == tag:
                        return self._send(304, b"", None, headers)
                if route.last_modified:
                    headers["Last-Modified"] = server.LAST_MODIFIED
                    if seen.headers.get("if-modified-since") == server.LAST_MODIFIED:
                        return self._send(304, b"", None, headers)
                if route.encodings:
                    if not route.raw_encoded:
                        body = encode(body, route.encodings)
                    headers["Content-Encoding"] = ", ".join(route.encodings)
                if route.trickle or route.no_length:
                    return self._stream(body, route)
                return self._send(200, body, route.content_type, headers)

            def _stream(self, body: bytes, route: Route) -> None:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                if route.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    step = 16 if route.trickle else 65536
                    for i in range(0, len(body), step):
                        self.wfile.write(body[i : i + step])
                        self.wfile.flush()
                        if route.trickle:
                            time.sleep(route.trickle)
                except OSError:
                    pass  # the client gave up, as it should

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                seen = SeenRequest(parts.path, parse_qs(body), {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(seen)
                route = server.routes.get(parts.path.strip("/").split("/", 1)[0])
                if route is None or route.post_body is None:
                    return self._json(404, {"error": "no such route"})
                self._json(route.status, route.post_body)

            def _paged(self, paged: Paged, query: dict[str, list[str]], path: str) -> None:
                records = paged.records
                size = paged.size
                if paged.size_param and paged.size_param in query:
                    size = max(1, min(size, int(query[paged.size_param][0])))
                if paged.style == "page":
                    page = int(query.get(paged.param, ["1"])[0])
                    start = (page - 1) * size
                else:
                    token = query.get(paged.param, ["c0"])[0]
                    if not token.startswith("c") or not token[1:].isdigit():
                        return self._json(400, {"message": f"invalid page token {token}"})
                    start = int(token[1:])
                    page = start // size + 1
                chunk = records[start : start + size]
                more = start + size < len(records)
                info = {
                    "next": f"c{start + size}" if more else None,
                    "page": page,
                    "per_page": size,
                    "total": len(records),
                }
                headers = {}
                if paged.style == "link" and more:
                    headers["Link"] = f'<{server.origin}{path}?{paged.param}=c{start + size}>; rel="next"'
                self._send(200, json.dumps(paged.envelope(chunk, info)).encode(), "application/json", headers)

            def _anthropic_page(self, route: Route, query: dict[str, list[str]]) -> None:
                records = route.body or []
                limit = min(int(query.get("limit", ["20"])[0]), route.page_size)
                start = 0
                if "after_id" in query:
                    ids = [r["id"] for r in records]
                    after = query["after_id"][0]
                    if after not in ids:
                        return self._json(400, {"type": "error", "error": {"message": f"unknown after_id {after}"}})
                    start = ids.index(after) + 1
                page = records[start : start + limit]
                self._json(
                    200,
                    {
                        "data": page,
                        "has_more": start + limit < len(records),
                        "first_id": page[0]["id"] if page else None,
                        "last_id": page[-1]["id"] if page else None,
                    },
                )

            def _json(self, status: int, value: Any) -> None:
                self._send(status, json.dumps(value).encode(), "application/json", {})

            def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str]) -> None:
                self.send_response(status)
                if content_type and status != 304:
                    self.send_header("Content-Type", content_type)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        return Handler


def encode(body: bytes, encodings: tuple[str, ...]) -> bytes:
    """``body`` with each Content-Encoding of ``encodings`` applied in turn."""
    for encoding in encodings:
        body = gzip.compress(body, mtime=0) if encoding == "gzip" else zlib.compress(body)
    return body


def bomb(size: int, encodings: tuple[str, ...] = ("gzip", "gzip"), prefix: bytes = b'{"data": [') -> bytes:
    """A body that decodes (through ``encodings``, applied in order) to ``prefix`` and then
    ``size`` zero bytes, built a megabyte at a time: a decompression bomb of any size."""
    first = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS if encodings[0] == "gzip" else zlib.MAX_WBITS)
    parts = [first.compress(prefix)]
    block = b"\0" * (1 << 20)
    for _ in range(size // len(block)):
        parts.append(first.compress(block))
    parts.append(first.flush())
    return encode(b"".join(parts), encodings[1:])


def _carries_key(route: Route, seen: SeenRequest) -> bool:
    assert route.auth is not None
    style, name = route.auth
    if style == "bearer":
        return seen.headers.get("authorization") == f"Bearer {route.key}"
    if style == "header":
        return seen.headers.get(name.lower()) == route.key
    return seen.query.get(name) == [route.key]


def _sigv4_problem(spec: tuple[str, str, str, str], method: str, url: str, headers: dict[str, str]) -> str | None:
    """Recompute the request's AWS Signature Version 4 with botocore; the reason it is wrong, or None."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    access, secret, region, service = spec
    authorization = headers.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return "missing AWS SigV4 Authorization header"
    fields = dict(part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(","))
    scope = fields.get("Credential", "").split("/")
    if scope[:1] != [access] or scope[2:4] != [region, service]:
        return f"wrong credential scope {fields.get('Credential')}"
    signed = fields.get("SignedHeaders", "").split(";")
    request = AWSRequest(
        method=method, url=url, headers={h: headers[h] for h in signed if h in headers and h != "host"}
    )
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(access, secret, headers.get("x-amz-security-token")), service, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return None if expected == fields.get("Signature") else "the signature does not match"
