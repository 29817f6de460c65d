"""Loopback stand-ins for what lies between a user and AWS, for S3 tests.

Small threaded servers, all listening on ``127.0.0.1`` only and connecting
only to ``127.0.0.1``/``localhost`` (any other destination is refused, never
looked up):

- :class:`AwsFront`: an HTTP/1.1 reverse proxy in front of the session's S3
  server (moto or SeaweedFS) that answers like S3 does for buckets living
  in other regions and for anonymous requests:

  * a request signed (SigV4 ``Authorization`` header, or ``X-Amz-Credential``
    of a presigned URL) for a region other than its bucket's gets ``400``
    ``AuthorizationHeaderMalformed`` (presigned: ``AuthorizationQueryParametersError``,
    as S3 answers) with ``<Region>`` and an ``x-amz-bucket-region`` header;
    a HEAD gets the status and the header only, no body;
  * ``HEAD /bucket`` (HeadBucket) always says ``x-amz-bucket-region``: 200
    (from the server) when the signature's region is right, ``301`` when not;
  * ``GET /bucket?location`` (GetBucketLocation) is served from any region
    and answers the bucket's region from ``regions``;
  * an unsigned request gets ``403 AccessDenied``, unless it is a GET or
    HEAD of a ``(bucket, key)`` in ``public``: that one is signed with the
    server's credentials and forwarded;
  * everything else is forwarded byte for byte, ``Host`` unchanged (the
    client signs for the front's ``host:port``; moto and SeaweedFS accept
    any region in the signature scope, so no re-signing is needed).

  Path-style only; bucket-less requests (ListBuckets) are not region-checked.
  The refused request's body is read and thrown away (keep-alive stays
  correct); with ``Expect: 100-continue`` it is not asked for, and the
  connection is closed after the answer.
- TLS: ``AwsFront(..., tls=ca)`` serves HTTPS with a certificate for
  ``127.0.0.1`` and ``localhost`` issued by a :class:`LoopbackCA` (trustme);
  ``ca.ca_pem`` is the file for ``AWS_CA_BUNDLE`` or boto3's ``verify=``.
- :class:`ForwardProxy`: an HTTP proxy for absolute-URI requests
  (``GET http://127.0.0.1:PORT/...``) and ``CONNECT 127.0.0.1:PORT`` tunnels,
  optionally requiring ``Proxy-Authorization: Basic``.

Usage (the fixtures are a plugin, listed in conftest.py's ``pytest_plugins``:
every test module can ask for them)::

    def test_other_region(aws_front, bucket):
        front = aws_front(regions={bucket: "eu-west-1"}, public={(bucket, "pub")})
        s3 = boto3.client("s3", endpoint_url=front.endpoint_url, region_name="us-east-1")
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")   # 400, botocore re-signs: 200
        assert front.refused["wrong-region"] == 1

    def test_https(tls_front, test_ca):
        front = tls_front(regions={...})             # https://127.0.0.1:PORT
        boto3.client("s3", endpoint_url=front.endpoint_url, verify=test_ca.ca_pem)

    def test_proxy(forward_proxy, aws_front):
        proxy = forward_proxy(require_auth=("user", "pass"))   # proxy.url has user:pass@
        Config(proxies={"http": proxy.url, "https": proxy.url}); ...
        assert proxy.requests and proxy.targets

Without pytest: ``with AwsFront(url, regions={...}) as front: ...`` and
``with ForwardProxy() as proxy: ...``.  Each is bounded (``max_connections``
client connections, ``idle_timeout`` on idle clients and tunnels,
``upstream_timeout`` on the server) and ``close()`` shuts every socket and
joins every thread.  Message parsing and body streaming come from
``faultproxy``.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import collections
import http
import os
import re
import select
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from typing import Callable, Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

import pytest

from . import servers
from .faultproxy import _CHUNK, LoopbackServer, _Closed, _Head, _close, _iter_body, _read_head

__all__ = ["AwsFront", "ForwardProxy", "LoopbackCA", "Seen", "Refused", "default_ca",
           "loopback_addr", "signature_scope", "aws_front", "tls_front", "forward_proxy",
           "test_ca", "untrusted_ca"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost")
_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class Refused(ValueError):
    """A destination that is not loopback: the stand-ins never connect to it."""


def loopback_addr(host: str | None, port: int | str) -> tuple[str, int]:
    """``("127.0.0.1", port)`` for ``127.0.0.1``/``localhost``; :class:`Refused` otherwise."""
    if (host or "").lower() not in LOOPBACK_NAMES:
        raise Refused(f"not a loopback host: {host!r}")
    port = int(port)
    if not 0 < port < 65536:
        raise Refused(f"bad port {port}")
    return "127.0.0.1", port


_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")


def signature_scope(authorization: str, params: dict) -> tuple[bool, str | None]:
    """``(signed, region)``: whether a request is signed, and the region of its
    SigV4 credential scope (None for SigV2 or an unparsable scope)."""
    def region(credential: str | None) -> str | None:
        parts = (credential or "").split("/")
        return parts[2] if len(parts) == 5 else None

    if authorization:
        match = _CREDENTIAL.search(authorization)
        return True, region(match.group(1) if match else None)
    if "X-Amz-Signature" in params or ("Signature" in params and "AWSAccessKeyId" in params):
        return True, region(params.get("X-Amz-Credential"))
    return False, None


def _response(status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
               head_only: bool = False) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Status"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers),
             f"Content-Length: {len(body)}", f"Date: {formatdate(usegmt=True)}"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + body


def _with_lines(head: _Head, drop: tuple[str, ...] = (), add: Iterable[tuple[str, str]] = (),
                first: bytes | None = None) -> bytes:
    """``head`` re-serialised without the headers ``drop``, plus ``add``."""
    raw = head.raw(drop=drop)
    if first is not None:
        raw = first + raw[len(head.first):]
    extra = "".join(f"{k}: {v}\r\n" for k, v in add).encode("latin-1")
    return raw[:-2] + extra + b"\r\n"


def _request_line(head: _Head) -> tuple[str, str, str]:
    parts = head.first.split()
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        raise _Closed(f"bad request line {head.first[:80]!r}")
    return parts[0].decode("latin-1").upper(), parts[1].decode("latin-1"), \
        parts[2].decode("latin-1")


def _host_port(url: str) -> str:
    """``host:port`` of an absolute ``http://`` URL (port 80 if none); the raw netloc if bad."""
    parts = urlsplit(url)
    try:
        return f"{parts.hostname}:{parts.port or 80}" if parts.hostname else parts.netloc
    except ValueError:
        return parts.netloc


def _expects_continue(head: _Head) -> bool:
    return "100-continue" in head.get("expect").lower() and head.framing()[0] != "none"


class _Link:
    """A lazily opened, reused connection to one loopback address."""

    def __init__(self, server: "_Server", addr: tuple[str, int]):
        self.server, self.addr = server, addr
        self.sock: socket.socket | None = None
        self.rfile = None

    def open(self) -> socket.socket:
        if self.sock is not None and select.select([self.sock], [], [], 0)[0]:
            self.drop()  # the server closed it meanwhile (EOF is readable)
        if self.sock is None:
            sock = socket.create_connection(self.addr, timeout=self.server.upstream_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.server._track(sock)
            self.sock, self.rfile = sock, sock.makefile("rb", buffering=_CHUNK)
        return self.sock

    def drop(self) -> None:
        if self.sock is not None:
            self.server._untrack(self.sock)
            _close(self.sock, self.rfile)
        self.sock = self.rfile = None


class _Server(LoopbackServer):
    """Listener on 127.0.0.1, bounded accept loop, one thread per connection."""

    def __init__(self, port: int = 0, max_connections: int = 64, idle_timeout: float = 60.0,
                 upstream_timeout: float = 120.0, tls=None):
        self.idle_timeout = idle_timeout
        self.upstream_timeout = upstream_timeout
        self.ssl_context = _server_context(tls)
        self.scheme = "https" if self.ssl_context is not None else "http"
        self.connections = 0  # client connections accepted
        self._lock = threading.RLock()
        self._listen(port, max_connections, type(self).__name__)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _serve(self, sock: socket.socket) -> None:
        rfile = None
        try:
            if self.ssl_context is not None:
                raw = sock
                sock = self.ssl_context.wrap_socket(raw, server_side=True,
                                                    do_handshake_on_connect=False)
                with self._lock:
                    self._sockets.discard(raw)
                    self._sockets.add(sock)
                sock.settimeout(min(self.idle_timeout, 10.0))
                sock.do_handshake()
                sock.settimeout(self.idle_timeout)
            rfile = sock.makefile("rb", buffering=_CHUNK)
            self._handle(sock, rfile)
        except (_Closed, OSError, ValueError):
            pass
        finally:
            self._untrack(sock)
            _close(sock, rfile)
            self._slots.release()
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _handle(self, sock: socket.socket, rfile) -> None:
        raise NotImplementedError

    def _answer(self, sock, rfile, head: _Head, method: str, status: int,
                headers: list[tuple[str, str]], body: bytes = b"") -> bool:
        """Answer without forwarding; True if the client connection may go on.

        The request body is read and dropped first; with ``Expect:
        100-continue`` it is never asked for, so the connection is closed.
        """
        expect = _expects_continue(head)
        close = expect or head.wants_close()
        if not expect:
            for _ in _iter_body(rfile, *head.framing()):
                pass
        if close:
            headers = headers + [("Connection", "close")]
        sock.sendall(_response(status, headers, body, head_only=method == "HEAD"))
        if expect:  # swallow a body the client sends anyway, briefly, so close() sends no RST
            deadline, left = time.monotonic() + 2.0, 64 << 20
            try:
                sock.settimeout(0.5)
                while left > 0 and time.monotonic() < deadline:
                    data = rfile.read1(_CHUNK)
                    if not data:
                        break
                    left -= len(data)
            except OSError:
                pass
        return not close

    def _relay(self, sock, link: _Link, head: _Head, out_head: bytes, rfile, method: str,
               edit: Callable | None = None,
               count: Callable[[int, int], None] = lambda up, down: None,
               on_status: Callable[[int], None] = lambda status: None) -> bool:
        """Send ``out_head`` and the request body upstream, the response back.

        ``Expect: 100-continue`` is answered here (it must not be in
        ``out_head``).  ``edit(status, resp)`` may return ``(drop, add,
        body)``: response headers to drop and add, and a body replacing the
        server's (None: keep it).  ``on_status(status)`` is called before
        the response is relayed.  True if the client connection may go on.
        """
        up = link.open()
        count(len(out_head), 0)  # counted before sending: a reader never sees a count lag
        up.sendall(out_head)
        framing, length = head.framing()
        if framing != "none" and "100-continue" in head.get("expect").lower():
            count(0, 25)
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        for piece in _iter_body(rfile, framing, length):
            count(len(piece), 0)
            up.sendall(piece)
        while True:  # skip interim responses
            resp = _read_head(link.rfile, allow_eof=False)
            try:
                status = int(resp.first.split(None, 2)[1])
            except (IndexError, ValueError):
                raise _Closed(f"bad status line {resp.first[:80]!r}") from None
            if not 100 <= status < 200 or status == 101:
                break
        on_status(status)
        if method == "HEAD" or status in (204, 304):
            rframing, rlength = "none", 0
        else:
            rframing, rlength = resp.framing()
            if rframing == "none" and not resp.get("content-length"):
                rframing = "eof"
        # Connection is hop-by-hop: a server closing after each response (moto)
        # does not end the client's connection.
        upstream_close = resp.wants_close() or rframing == "eof"
        close_after = rframing == "eof" or head.wants_close()
        drop: tuple[str, ...] = ("connection",) if upstream_close and not close_after else ()
        add: list[tuple[str, str]] = []
        new_body = None
        if edit is not None:
            more, add, new_body = edit(status, resp)
            drop += tuple(more)
        if new_body is not None:
            for _ in _iter_body(link.rfile, rframing, rlength):
                pass
            drop += ("content-length", "transfer-encoding")
            add = add + [("Content-Length", str(len(new_body)))]
        out = _with_lines(resp, drop, add)
        count(0, len(out))
        sock.sendall(out)
        if new_body is not None:
            count(0, len(new_body))
            sock.sendall(new_body)
        else:
            for piece in _iter_body(link.rfile, rframing, rlength):
                count(0, len(piece))
                sock.sendall(piece)
        if upstream_close:
            link.drop()
        return not close_after

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, shut every connection, join the threads. Idempotent."""
        if self._closing.is_set():
            return
        self._closing.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._acceptor.join(timeout)
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            try:  # plain socket shutdown, also under an SSLSocket: wakes a blocked reader
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


# AWS-like front ------------------------------------------------------------


@dataclass
class Seen:
    """One request seen by an :class:`AwsFront`.

    ``region``: the region of its signature scope (None: unsigned or no
    scope); ``outcome``: ``forwarded``, ``signed-for-upstream`` (a public
    object), or the refusal reason (``wrong-region``, ``redirect``,
    ``unsigned``, ``unreachable``); ``status``: what the client got (None:
    nothing yet, or the connection broke).
    """

    n: int
    method: str
    path: str
    query: str
    bucket: str
    key: str
    region: str | None
    signed: bool
    outcome: str = "forwarded"
    status: int | None = None


class AwsFront(_Server):
    """An S3-like front for buckets in several regions (see the module docstring).

    ``AwsFront(upstream_url, regions=None, default_region="us-east-1",
    public=(), tls=None, credentials=(key, secret), upstream_region="us-east-1",
    port=0, max_connections=64, idle_timeout=60, upstream_timeout=120,
    history_size=10000)``.  ``regions`` maps bucket to region (others are in
    ``default_region``); ``public`` holds the ``(bucket, key)`` pairs anyone
    may GET/HEAD; both may be changed while it runs.  ``credentials`` and
    ``upstream_region`` sign public reads for the server.  ``tls``: a
    :class:`LoopbackCA` or an ``ssl.SSLContext``.

    Attributes: ``endpoint_url``, ``upstream``, ``requests``, ``refused``
    (Counter of reasons), ``history`` (recent :class:`Seen`),
    ``connections``.  Methods: ``region_of(bucket)``, ``records()``,
    ``reset_counters()``, ``close()``.
    """

    def __init__(self, upstream_url: str, regions: dict[str, str] | None = None,
                 default_region: str = "us-east-1", public: Iterable[tuple[str, str]] = (),
                 tls=None, credentials: tuple[str, str] = (servers.DEFAULT_ACCESS_KEY,
                                                          servers.DEFAULT_SECRET_KEY),
                 upstream_region: str = servers.DEFAULT_REGION, port: int = 0,
                 max_connections: int = 64, idle_timeout: float = 60.0,
                 upstream_timeout: float = 120.0, history_size: int = 10000):
        parts = urlsplit(upstream_url)
        if parts.scheme != "http":
            raise ValueError(f"upstream must be an http:// URL, got {upstream_url!r}")
        self.upstream_addr = loopback_addr(parts.hostname, parts.port or 80)
        self.upstream = upstream_url
        self.regions = dict(regions or {})
        self.default_region = default_region
        self.public = set(public)
        self.credentials = tuple(credentials)
        self.upstream_region = upstream_region
        self.requests = 0
        self.refused: collections.Counter = collections.Counter()
        self.history: collections.deque[Seen] = collections.deque(maxlen=history_size)
        super().__init__(port, max_connections, idle_timeout, upstream_timeout, tls)

    @property
    def endpoint_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return (f"<AwsFront {self.endpoint_url} -> {self.upstream} requests={self.requests} "
                f"refused={dict(self.refused)}>")

    def region_of(self, bucket: str) -> str:
        return self.regions.get(bucket, self.default_region)

    def records(self) -> list[Seen]:
        with self._lock:
            return list(self.history)

    def reset_counters(self) -> None:
        with self._lock:
            self.requests = self.connections = 0
            self.refused.clear()
            self.history.clear()

    # Serving -------------------------------------------------------------

    def _handle(self, sock, rfile) -> None:
        link = _Link(self, self.upstream_addr)
        try:
            while not self._closing.is_set():
                head = _read_head(rfile, allow_eof=True)
                if head is None or not self._one(sock, rfile, link, head):
                    return
        finally:
            link.drop()

    def _one(self, sock, rfile, link: _Link, head: _Head) -> bool:
        method, target, _version = _request_line(head)
        split = urlsplit(target)
        path, query = split.path or "/", split.query
        params = dict(parse_qsl(query, keep_blank_values=True))
        segments = path.lstrip("/").split("/", 1)
        bucket = unquote(segments[0])
        key = unquote(segments[1]) if len(segments) > 1 else ""
        signed, region = signature_scope(head.get("authorization"), params)
        with self._lock:
            self.requests += 1
            seen = Seen(self.requests, method, path, query, bucket, key, region, signed)
            self.history.append(seen)
        expected = self.region_of(bucket)
        head_bucket = method == "HEAD" and bucket and not key
        location = method == "GET" and bucket and not key and "location" in params

        def refuse(reason: str, status: int, code: str, message: str,
                   region_header: bool = False) -> bool:
            with self._lock:
                self.refused[reason] += 1
            seen.outcome, seen.status = reason, status  # before answering: no race with readers
            request_id = uuid.uuid4().hex[:16].upper()
            extra = f"<Region>{expected}</Region>" if region_header else ""
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}"
                    f"<RequestId>{request_id}</RequestId><HostId>stand-in</HostId></Error>"
                    ).encode()
            headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id),
                       ("x-amz-id-2", "stand-in"), ("Server", "AmazonS3")]
            if region_header:
                headers.append(("x-amz-bucket-region", expected))
            return self._answer(sock, rfile, head, method, status, headers, body)

        out_head = None
        if not signed:
            if not (bucket and method in ("GET", "HEAD") and (bucket, key) in self.public):
                return refuse("unsigned", 403, "AccessDenied", "Access Denied")
            seen.outcome = "signed-for-upstream"
            out_head = self._signed_for_upstream(head, method, target)
        elif bucket and region is not None and region != expected and not location:
            if head_bucket:
                return refuse("redirect", 301, "PermanentRedirect",
                              "The bucket is in another region.", region_header=True)
            wrong = f"the region '{region}' is wrong; expecting '{expected}'"
            if "X-Amz-Credential" in params:
                return refuse("wrong-region", 400, "AuthorizationQueryParametersError",
                              f"Error parsing the X-Amz-Credential parameter; {wrong}",
                              region_header=True)
            return refuse("wrong-region", 400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; {wrong}",
                          region_header=True)

        edit = None
        if head_bucket:
            def edit(status, resp):  # the region header, in place of the server's own
                add = [("x-amz-bucket-region", expected)] if status < 500 and status != 404 else []
                return ("x-amz-bucket-region",), add, None
        elif location:
            def edit(status, resp):
                if status != 200:
                    return (), [], None
                value = "" if expected == "us-east-1" else expected
                return (), [], ('<?xml version="1.0" encoding="UTF-8"?>\n'
                                f'<LocationConstraint xmlns="{_S3_NS}">{value}'
                                "</LocationConstraint>").encode()

        if out_head is None:
            out_head = head.raw(drop=("expect",))
        try:
            link.open()
        except OSError:
            return refuse("unreachable", 503, "ServiceUnavailable", "The server is unreachable.")
        def on_status(status: int) -> None:
            seen.status = status

        return self._relay(sock, link, head, out_head, rfile, method, edit,
                           on_status=on_status)

    def _signed_for_upstream(self, head: _Head, method: str, target: str) -> bytes:
        """The request head signed (SigV4, empty payload) with ``credentials``."""
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        strip = ("authorization", "x-amz-date", "x-amz-content-sha256",
                 "x-amz-security-token", "expect")
        host = head.get("host") or f"{self.host}:{self.port}"
        amz = {k: v for k, v in head.headers.items() if k.startswith("x-amz-") and k not in strip}
        request = AWSRequest(method=method, url=f"http://{host}{target}", headers=amz, data=b"")
        S3SigV4Auth(Credentials(*self.credentials), "s3", self.upstream_region).add_auth(request)
        return _with_lines(head, strip, [(name, request.headers[name]) for name in (
            "Authorization", "X-Amz-Date", "X-Amz-Content-SHA256")])


# TLS ------------------------------------------------------------------------


class LoopbackCA:
    """A throwaway certificate authority (trustme) and a server certificate it
    issued for ``127.0.0.1`` and ``localhost``.

    ``ca_pem``: path of the CA certificate (for ``AWS_CA_BUNDLE``, boto3's
    ``verify=``, ``ssl.create_default_context(cafile=...)``); ``cert_pem``:
    path of the server's key and certificate chain; ``ca`` and
    ``server_cert``: the trustme objects; ``server_context()``: an
    ``SSLContext`` serving the certificate.  ``cleanup()`` removes the files.
    """

    def __init__(self, directory: str | None = None, organization: str = "baiji stand-in CA"):
        import trustme

        self.ca = trustme.CA(organization_name=organization)
        self.server_cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self._owned = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="baiji-ca-")
        self.ca_pem = os.path.join(self.directory, "ca.pem")
        self.cert_pem = os.path.join(self.directory, "server.pem")
        self.ca.cert_pem.write_to_path(self.ca_pem)
        self.server_cert.private_key_and_cert_chain_pem.write_to_path(self.cert_pem)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_cert.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_pem)

    def cleanup(self) -> None:
        if self._owned:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __repr__(self) -> str:
        return f"<LoopbackCA {self.ca_pem}>"


def _server_context(tls) -> ssl.SSLContext | None:
    if tls is None or isinstance(tls, ssl.SSLContext):
        return tls
    if isinstance(tls, LoopbackCA):
        return tls.server_context()
    raise TypeError(f"tls must be None, a LoopbackCA or an ssl.SSLContext, not {tls!r}")


_cas: dict[str, LoopbackCA] = {}
_cas_lock = threading.Lock()


def default_ca(name: str = "trusted") -> LoopbackCA:
    """The process-wide :class:`LoopbackCA` called ``name`` (made on first use,
    removed at exit): ``"trusted"`` serves the TLS fronts, any other name is
    a CA nobody trusts."""
    with _cas_lock:
        if name not in _cas:
            if not _cas:
                atexit.register(lambda: [ca.cleanup() for ca in _cas.values()])
            _cas[name] = LoopbackCA(organization=f"baiji stand-in CA ({name})")
        return _cas[name]


# Forward proxy ---------------------------------------------------------------


class ForwardProxy(_Server):
    """An HTTP forward proxy that only reaches ``127.0.0.1``/``localhost``.

    ``ForwardProxy(require_auth=None | (user, password), port=0,
    max_connections=64, idle_timeout=60, upstream_timeout=120)``.  Serves
    absolute-URI requests (``GET http://127.0.0.1:PORT/path``, sent on in
    origin form with ``Host`` unchanged and ``Proxy-*`` headers removed) and
    ``CONNECT 127.0.0.1:PORT`` tunnels.  Another destination gets ``403``, a
    missing or wrong ``Proxy-Authorization: Basic`` ``407``, an unreachable
    one ``502``.

    Attributes: ``url`` (``http://[user:pass@]127.0.0.1:PORT``), ``requests``
    (absolute-URI requests), ``connects`` (CONNECTs), ``bytes_up`` (client to
    target, request heads included) and ``bytes_down``, ``targets``
    (``host:port`` asked for, in order, refused ones too), ``refused``
    (Counter: ``auth``, ``non-loopback``, ``bad-request``, ``unreachable``),
    ``connections``.  ``reset_counters()``, ``close()``.
    """

    def __init__(self, require_auth: tuple[str, str] | None = None, port: int = 0,
                 max_connections: int = 64, idle_timeout: float = 60.0,
                 upstream_timeout: float = 120.0):
        self.require_auth = require_auth
        self._expected_auth = None
        if require_auth is not None:
            user, password = require_auth
            self._expected_auth = f"{user}:{password}".encode()
        self.requests = self.connects = self.bytes_up = self.bytes_down = 0
        self.targets: list[str] = []
        self.refused: collections.Counter = collections.Counter()
        super().__init__(port, max_connections, idle_timeout, upstream_timeout)

    @property
    def url(self) -> str:
        if self.require_auth is None:
            return f"http://{self.host}:{self.port}"
        user, password = (quote(s, safe="") for s in self.require_auth)
        return f"http://{user}:{password}@{self.host}:{self.port}"

    def __repr__(self) -> str:
        return (f"<ForwardProxy {self.host}:{self.port} requests={self.requests} "
                f"connects={self.connects} refused={dict(self.refused)}>")

    def reset_counters(self) -> None:
        with self._lock:
            self.requests = self.connects = self.bytes_up = self.bytes_down = 0
            self.connections = 0
            self.targets.clear()
            self.refused.clear()

    def _count(self, up: int, down: int) -> None:
        with self._lock:
            self.bytes_up += up
            self.bytes_down += down

    def _authorized(self, head: _Head) -> bool:
        if self._expected_auth is None:
            return True
        scheme, _, value = head.get("proxy-authorization").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            return base64.b64decode(value.strip(), validate=True) == self._expected_auth
        except (binascii.Error, ValueError):
            return False

    def _refuse(self, sock, rfile, head, method, reason: str, status: int,
                headers: list[tuple[str, str]] | None = None) -> bool:
        with self._lock:
            self.refused[reason] += 1
        body = f"stand-in proxy: {reason}\n".encode()
        return self._answer(sock, rfile, head, method, status,
                            [("Content-Type", "text/plain")] + (headers or []), body)

    def _handle(self, sock, rfile) -> None:
        link: _Link | None = None
        try:
            while not self._closing.is_set():
                head = _read_head(rfile, allow_eof=True)
                if head is None:
                    return
                method, target, version = _request_line(head)
                if method == "CONNECT":
                    with self._lock:
                        self.connects += 1
                        self.targets.append(target)
                elif not target.startswith("/"):
                    with self._lock:
                        self.requests += 1
                        self.targets.append(_host_port(target))
                if not self._authorized(head):
                    keep = self._refuse(sock, rfile, head, method, "auth", 407, [
                        ("Proxy-Authenticate", 'Basic realm="stand-in proxy"')])
                elif method == "CONNECT":
                    self._tunnel(sock, rfile, head, target)
                    return
                else:
                    parts = urlsplit(target)
                    try:
                        if parts.scheme != "http" or not parts.hostname:
                            raise ValueError(target)
                        port = parts.port or 80
                    except ValueError:  # origin form, another scheme, a bad port
                        if self._refuse(sock, rfile, head, method, "bad-request", 400):
                            continue
                        return
                    try:
                        addr = loopback_addr(parts.hostname, port)
                    except Refused:
                        keep = self._refuse(sock, rfile, head, method, "non-loopback", 403)
                    else:
                        if link is not None and link.addr != addr:
                            link.drop()
                            link = None
                        link = link or _Link(self, addr)
                        try:
                            link.open()
                        except OSError:
                            keep = self._refuse(sock, rfile, head, method, "unreachable", 502)
                        else:
                            origin = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                            first = f"{method} {origin} {version}\r\n".encode("latin-1")
                            out = _with_lines(head, ("proxy-authorization", "proxy-connection",
                                                     "expect"), first=first)
                            keep = self._relay(sock, link, head, out, rfile, method,
                                               count=self._count)
                if not keep:
                    return
        finally:
            if link is not None:
                link.drop()

    def _tunnel(self, sock, rfile, head: _Head, target: str) -> None:
        host, _, port = target.rpartition(":")
        try:
            addr = loopback_addr(host, port)
        except (Refused, ValueError):
            self._refuse(sock, rfile, head, "CONNECT", "non-loopback", 403,
                         [("Connection", "close")])
            return
        try:
            up = socket.create_connection(addr, timeout=self.upstream_timeout)
        except OSError:
            self._refuse(sock, rfile, head, "CONNECT", "unreachable", 502,
                         [("Connection", "close")])
            return
        self._track(up)
        try:
            sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            live = [sock, up]
            while live and not self._closing.is_set():
                readable, _, _ = select.select(live, [], [], self.idle_timeout)
                if not readable:
                    return  # idle
                for src in readable:
                    dst = up if src is sock else sock
                    data = src.recv(_CHUNK)
                    if not data:  # half-close: pass the FIN on, keep the other way open
                        live.remove(src)
                        try:
                            dst.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        continue
                    self._count(len(data), 0) if src is sock else self._count(0, len(data))
                    dst.sendall(data)
        finally:
            self._untrack(up)
            _close(up)


# Fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def test_ca() -> LoopbackCA:
    """The :class:`LoopbackCA` whose certificate ``tls_front`` serves (``.ca_pem``)."""
    return default_ca()


@pytest.fixture(scope="session")
def untrusted_ca() -> LoopbackCA:
    """Another :class:`LoopbackCA`, which never signed anything served: for negative tests."""
    return default_ca("untrusted")


def _fronts(endpoint_url, s3_server, server_kind, **defaults):
    """Yield a factory of :class:`AwsFront` s before the session's server; close them all after."""
    if server_kind == "aws":
        pytest.skip("the stand-ins front a local server only")
    made: list[AwsFront] = []

    def make(regions: dict[str, str] | None = None, **kwargs) -> AwsFront:
        kwargs = {**defaults, **kwargs}
        kwargs.setdefault("credentials", (s3_server.access_key, s3_server.secret_key))
        front = AwsFront(endpoint_url, regions, **kwargs)
        made.append(front)
        return front

    try:
        yield make
    finally:
        for front in made:
            front.close()


@pytest.fixture
def aws_front(endpoint_url, s3_server, server_kind):
    """Factory: ``aws_front(regions=None, **AwsFront kwargs)`` starts an
    :class:`AwsFront` before the session's server; all are closed after the test."""
    yield from _fronts(endpoint_url, s3_server, server_kind)


@pytest.fixture
def tls_front(endpoint_url, s3_server, server_kind):
    """Like ``aws_front``, serving HTTPS with the certificate of ``test_ca``."""
    yield from _fronts(endpoint_url, s3_server, server_kind, tls=default_ca())


@pytest.fixture
def forward_proxy():
    """Factory: ``forward_proxy(require_auth=None, **ForwardProxy kwargs)`` starts
    a :class:`ForwardProxy`; all are closed after the test."""
    made: list[ForwardProxy] = []

    def make(require_auth: tuple[str, str] | None = None, **kwargs) -> ForwardProxy:
        proxy = ForwardProxy(require_auth, **kwargs)
        made.append(proxy)
        return proxy

    try:
        yield make
    finally:
        for proxy in made:
            proxy.close()
