"""A fault-injecting HTTP/1.1 proxy for S3 tests, on 127.0.0.1 only.

The proxy listens on a free loopback port and forwards every request,
byte for byte, to one upstream S3 server (moto or SeaweedFS).  Point a
client at it with ``endpoint_url=proxy.endpoint_url``; the client signs its
requests for the proxy's ``host:port`` and the proxy passes the ``Host``
header through unchanged, so the upstream sees exactly what was signed.
(The one change: an ``Expect: 100-continue`` header is answered by the
proxy itself and dropped from the forwarded request, as SigV4 never signs
``Expect``; and the hop-by-hop ``Connection: close`` of a server that closes
after every response, as moto does, is not relayed: the proxy keeps the
client's connection alive and reconnects upstream.)  Keep-alive, ``Content-Length`` and chunked bodies (including
boto3's ``aws-chunked`` uploads) are supported in both directions, and
bodies are streamed, not buffered.

Faults are decided per request, in arrival order, by rules the test sets::

    proxy = FaultProxy("http://127.0.0.1:5000")
    proxy.fail_next(2, "slow_down")                      # next 2 requests: 503 SlowDown
    proxy.fail_next(1, "reset_before", match="UploadPart")
    proxy.fail_every(3, "internal_error", match=lambda r: r.method == "GET")
    proxy.fail_next(1, "truncate", nbytes=100, match="GetObject")
    ...
    assert proxy.faults == 4 and proxy.requests >= 10
    proxy.close()

Fault kinds (aliases in brackets):

- ``internal_error`` [``500``]: answer ``500`` with an S3 ``InternalError``
  XML body; the request is not forwarded.
- ``slow_down`` [``503``]: answer ``503`` ``SlowDown``; not forwarded.
- ``error``: answer ``status``/``code``/``message`` of your choice.
- ``reset_before`` [``reset``]: read the request head, then reset the
  connection (TCP RST, ``SO_LINGER`` 0) without reading the body.
- ``reset_after``: read the whole request, then reset; not forwarded.
- ``reset_after_forward``: forward the request (the server acts on it),
  drop the server's response and reset the client connection.
- ``truncate`` [``cut``]: forward, relay the response head and the first
  ``nbytes`` bytes of the body (default 0), then close the connection.
- ``delay``: wait ``seconds`` (default 1), then forward normally.
- ``corrupt``: forward and relay the whole response, with the body byte at
  ``offset`` (default 0; chunk framing counts) inverted: same length, wrong
  content.

A rule's ``match`` is ``None`` (every request), an S3 operation name or a
tuple of them (``"GetObject"``, ``("UploadPart", "PutObject")``, as guessed
by :attr:`RequestInfo.op`), or a callable taking a :class:`RequestInfo`.
Rules are tried in the order they were added; the first whose match and
schedule fire injects its fault.  ``proxy.handler`` may be set to a callable
``(RequestInfo) -> kind | Fault | None`` consulted before the rules.

Counters: ``connections`` (client connections accepted), ``requests`` (all
requests seen), ``faults`` (injected), ``faults_by_kind`` (Counter),
``history`` (recent :class:`Record` s), ``records(after)`` (a copy of it),
``ops()`` (their S3 operations),
``pending()`` (faults still scheduled by ``fail_next``).  ``reset_counters()``
zeroes them; ``clear()`` drops all rules.  Everything is bounded: at most
``max_connections`` client connections, idle connections time out, and
``close()`` shuts every socket and joins every thread.
"""

from __future__ import annotations

import collections
import itertools
import socket
import struct
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Callable, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["FaultProxy", "Fault", "RequestInfo", "Record", "KINDS"]

KINDS = ("internal_error", "slow_down", "error", "reset_before", "reset_after",
         "reset_after_forward", "truncate", "delay", "corrupt")
_ALIASES = {"500": "internal_error", "503": "slow_down", "reset": "reset_before",
            "cut": "truncate", "InternalError": "internal_error", "SlowDown": "slow_down"}

_MAX_LINE = 65536
_MAX_HEADERS = 200
_CHUNK = 65536
_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


@dataclass
class Fault:
    """What to do to one request (see the module docstring for ``kind``)."""

    kind: str
    status: int = 500
    code: str = "InternalError"
    message: str = "We encountered an internal error. Please try again."
    nbytes: int = 0        # truncate: body bytes relayed before the cut
    seconds: float = 1.0   # delay: wait before forwarding
    offset: int = 0        # corrupt: the body byte inverted

    @classmethod
    def make(cls, kind: "str | int | Fault", **params) -> "Fault":
        if isinstance(kind, Fault):
            return kind
        name = _ALIASES.get(str(kind), str(kind))
        if name not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        if name == "slow_down":
            params.setdefault("status", 503)
            params.setdefault("code", "SlowDown")
            params.setdefault("message", "Please reduce your request rate.")
        return cls(name, **params)


@dataclass
class RequestInfo:
    """A request as the proxy saw it, handed to ``match`` callables.

    ``n``: 1-based arrival number; ``method``; ``target`` (raw request
    target); ``path`` (raw, percent-encoded); ``query`` (raw string);
    ``params`` (query as a dict, blank values kept); ``headers`` (lower-case
    names); ``bucket`` and ``key`` (path-style, decoded; ``''`` when absent);
    ``op``: the S3 operation guessed from method, path and query
    (``GetObject``, ``PutObject``, ``UploadPart``, ``ListObjectsV2``, ...).
    """

    n: int
    method: str
    target: str
    path: str
    query: str
    params: dict
    headers: dict
    bucket: str
    key: str
    op: str


@dataclass
class Record:
    """One entry of ``proxy.history``: the request, the fault (kind or None),
    the status relayed to the client (None if none was), and the body bytes
    forwarded: ``sent`` to the server, ``received`` from it."""

    n: int
    method: str
    path: str
    query: str
    op: str
    fault: str | None
    status: int | None = None
    sent: int = 0
    received: int = 0


@dataclass
class _Rule:
    fault: Fault
    match: Callable[[RequestInfo], bool] | None
    every: int = 1
    remaining: int | None = None  # None: unlimited
    seen: int = 0


class _Closed(Exception):
    """The peer closed the connection (or sent garbage) mid-message."""


def _guess_op(method: str, bucket: str, key: str, params: dict, headers: dict) -> str:
    has = params.__contains__
    sub = next((p for p in ("acl", "versioning", "tagging", "policy", "cors", "lifecycle",
                            "location", "logging", "website", "encryption", "uploads",
                            "versions", "delete", "notification", "ownershipControls",
                            "publicAccessBlock", "object-lock", "retention", "legal-hold",
                            "attributes", "restore") if has(p)), None)
    cap = "".join(w[:1].upper() + w[1:] for w in (sub or "").split("-"))
    if not bucket:
        return "ListBuckets" if method == "GET" else f"{method.title()}Service"
    if not key:
        if method == "HEAD":
            return "HeadBucket"
        if method == "GET":
            if sub == "versions":
                return "ListObjectVersions"
            if sub == "uploads":
                return "ListMultipartUploads"
            if sub:
                return "GetBucket" + cap
            return "ListObjectsV2" if params.get("list-type") == "2" else "ListObjects"
        if method == "PUT":
            return "PutBucket" + cap if sub else "CreateBucket"
        if method == "POST" and sub == "delete":
            return "DeleteObjects"
        if method == "DELETE":
            return "DeleteBucket" + cap
        return f"{method.title()}Bucket{cap}"
    copy = "x-amz-copy-source" in headers
    if method == "HEAD":
        return "HeadObject"
    if method == "GET":
        if has("uploadId"):
            return "ListParts"
        return "GetObject" + cap
    if method == "PUT":
        if has("partNumber") and has("uploadId"):
            return "UploadPartCopy" if copy else "UploadPart"
        if sub:
            return "PutObject" + cap
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        if sub == "uploads":
            return "CreateMultipartUpload"
        if has("uploadId"):
            return "CompleteMultipartUpload"
        if sub == "restore":
            return "RestoreObject"
        return "PostObject" + cap
    if method == "DELETE":
        if has("uploadId"):
            return "AbortMultipartUpload"
        return "DeleteObject" + cap
    return f"{method.title()}Object{cap}"


def _make_match(match) -> Callable[[RequestInfo], bool] | None:
    if match is None or callable(match):
        return match
    ops = (match,) if isinstance(match, str) else tuple(match)
    return lambda info: info.op in ops


def _reset(sock: socket.socket | None, rfile=None) -> None:
    """Close ``sock`` with a TCP RST (SO_LINGER 0).

    The file from ``makefile()`` must be closed too: the descriptor (and so
    the RST) only goes when its last reference does.
    """
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close_files(rfile, sock)


def _close(sock: socket.socket | None, rfile=None) -> None:
    """Close ``sock`` gracefully (FIN after the data already sent)."""
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    _close_files(rfile, sock)


def _close_files(*objs) -> None:
    """Close each of ``objs`` that is not None, in order, ignoring OSError."""
    for obj in objs:
        try:
            if obj is not None:
                obj.close()
        except OSError:
            pass


class _Head:
    """A parsed HTTP message head (request or response)."""

    def __init__(self, first: bytes, lines: list[bytes]):
        self.first = first              # first line, with its CRLF
        self.lines = lines              # raw header lines, with their CRLF
        self.headers: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(b":")
            if not sep:
                raise _Closed(f"malformed header line {line[:80]!r}")
            k = name.strip().decode("latin-1").lower()
            v = value.strip().decode("latin-1")
            self.headers[k] = f"{self.headers[k]}, {v}" if k in self.headers else v

    def get(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)

    def raw(self, drop: tuple[str, ...] = ()) -> bytes:
        keep = [line for line in self.lines
                if line.partition(b":")[0].strip().decode("latin-1").lower() not in drop]
        return self.first + b"".join(keep) + b"\r\n"

    def framing(self) -> tuple[str, int]:
        """('chunked', 0) | ('length', N) | ('none', 0) for a request body."""
        te = self.get("transfer-encoding").lower()
        if te:
            if te.split(",")[-1].strip() == "chunked":
                return "chunked", 0
            raise _Closed(f"unsupported Transfer-Encoding {te!r}")
        cl = self.get("content-length")
        if cl:
            try:
                n = int(cl.split(",")[0])
            except ValueError:
                raise _Closed(f"bad Content-Length {cl!r}") from None
            return ("length", n) if n > 0 else ("none", 0)
        return "none", 0

    def wants_close(self) -> bool:
        conn = self.get("connection").lower()
        http10 = self.first.split(b" ", 1)[0] == b"HTTP/1.0" or self.first.rstrip().endswith(
            b"HTTP/1.0")
        return "close" in conn or (http10 and "keep-alive" not in conn)


def _read_head(rfile, allow_eof: bool) -> _Head | None:
    first = rfile.readline(_MAX_LINE + 1)
    while first in (b"\r\n", b"\n"):  # tolerate stray blank lines between messages
        first = rfile.readline(_MAX_LINE + 1)
    if not first:
        if allow_eof:
            return None
        raise _Closed("connection closed before a message")
    if not first.endswith(b"\n") or len(first) > _MAX_LINE:
        raise _Closed("message line too long or truncated")
    lines = []
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if not line:
            raise _Closed("connection closed inside a message head")
        if not line.endswith(b"\n") or len(line) > _MAX_LINE:
            raise _Closed("header line too long or truncated")
        if line in (b"\r\n", b"\n"):
            break
        lines.append(line)
        if len(lines) > _MAX_HEADERS:
            raise _Closed("too many header lines")
    return _Head(first, lines)


def _read_exactly(rfile, remaining: int, where: str) -> Iterator[bytes]:
    """Yield the next ``remaining`` bytes of ``rfile`` as they arrive (_Closed if it ends first)."""
    while remaining:
        data = rfile.read1(min(remaining, _CHUNK))
        if not data:
            raise _Closed(f"connection closed inside {where}")
        remaining -= len(data)
        yield data


def _iter_body(rfile, framing: str, length: int) -> Iterator[bytes]:
    """Yield the raw bytes of a body (chunk framing included) as they arrive."""
    if framing == "none":
        return
    if framing == "length":
        yield from _read_exactly(rfile, length, "a body")
        return
    if framing == "eof":
        while True:
            data = rfile.read1(_CHUNK)
            if not data:
                return
            yield data
    # chunked
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if not line.endswith(b"\n"):
            raise _Closed("bad chunk size line")
        yield line
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _Closed(f"bad chunk size {line[:40]!r}") from None
        if size == 0:
            while True:  # trailers, up to the blank line
                trailer = rfile.readline(_MAX_LINE + 1)
                if not trailer.endswith(b"\n"):
                    raise _Closed("connection closed inside chunked trailers")
                yield trailer
                if trailer in (b"\r\n", b"\n"):
                    return
        yield from _read_exactly(rfile, size + 2, "a chunk")  # the data and its CRLF


class _Connection:
    """One client connection and its (lazily opened) upstream connection."""

    def __init__(self, proxy: "FaultProxy", sock: socket.socket):
        self.proxy = proxy
        self.sock = sock
        self.rfile = sock.makefile("rb", buffering=_CHUNK)
        self.up: socket.socket | None = None
        self.up_rfile = None

    # Upstream -----------------------------------------------------------

    def _upstream(self) -> socket.socket:
        if self.up is not None:
            # a reused connection the server has closed meanwhile reads as EOF
            import select

            readable, _, _ = select.select([self.up], [], [], 0)
            if readable:
                self._drop_upstream()
        if self.up is None:
            up = socket.create_connection(self.proxy.upstream_addr,
                                          timeout=self.proxy.upstream_timeout)
            up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.up = up
            self.up_rfile = up.makefile("rb", buffering=_CHUNK)
            self.proxy._track(up)
        return self.up

    def _drop_upstream(self, reset: bool = False) -> None:
        if self.up is not None:
            self.proxy._untrack(self.up)
            (_reset if reset else _close)(self.up, self.up_rfile)
        self.up = None
        self.up_rfile = None

    # Client -------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _error_response(self, fault: Fault, info: RequestInfo) -> bytes:
        request_id = f"FAULTPROXY{info.n:08d}"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message>"
            f"<Resource>{info.path}</Resource><RequestId>{request_id}</RequestId>"
            "<HostId>faultproxy</HostId></Error>").encode()
        reason = _REASONS.get(fault.status, "Error")
        head = (f"HTTP/1.1 {fault.status} {reason}\r\n"
                f"Content-Type: application/xml\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"x-amz-request-id: {request_id}\r\n"
                f"Date: {formatdate(usegmt=True)}\r\n"
                f"Server: FaultProxy\r\n\r\n").encode()
        return head if info.method == "HEAD" else head + body

    def serve(self) -> None:
        try:
            while not self.proxy._closing.is_set():
                if not self._one_request():
                    break
        except (_Closed, OSError, ValueError):
            pass
        finally:
            self._drop_upstream()
            self.proxy._untrack(self.sock)
            _close(self.sock, self.rfile)

    def _one_request(self) -> bool:
        """Serve one request; False when the client connection must end."""
        head = _read_head(self.rfile, allow_eof=True)
        if head is None:
            return False
        info, fault = self.proxy._decide(head)
        record = self.proxy._record(info, fault)
        framing, length = head.framing()
        expect = "100-continue" in head.get("expect").lower()
        kind = fault.kind if fault else None

        if kind == "reset_before":
            _reset(self.sock, self.rfile)
            raise _Closed("reset_before")

        def body() -> Iterator[bytes]:
            if expect:
                self._send(b"HTTP/1.1 100 Continue\r\n\r\n")
            yield from _iter_body(self.rfile, framing, length)

        if kind in ("internal_error", "slow_down", "error", "reset_after"):
            for _ in body():
                pass
            if kind == "reset_after":
                _reset(self.sock, self.rfile)
                raise _Closed("reset_after")
            record.status = fault.status
            self._send(self._error_response(fault, info))
            return not head.wants_close()

        if kind == "delay":
            if self.proxy._closing.wait(fault.seconds):
                return False

        # Forward the request.
        up = self._upstream()
        up.sendall(head.raw(drop=("expect",)))
        for piece in body():
            up.sendall(piece)
            record.sent += len(piece)

        # Relay the response (skipping interim 1xx responses).
        while True:
            resp = _read_head(self.up_rfile, allow_eof=False)
            parts = resp.first.split(None, 2)
            try:
                status = int(parts[1])
            except (IndexError, ValueError):
                raise _Closed(f"bad status line {resp.first[:80]!r}") from None
            if 100 <= status < 200 and status != 101:
                continue
            break
        record.status = status
        if info.method == "HEAD" or status in (204, 304):
            rframing, rlength = "none", 0
        else:
            rframing, rlength = resp.framing()
            if rframing == "none" and not resp.get("content-length") and \
                    not resp.get("transfer-encoding"):
                rframing = "eof"
        # ``Connection`` is hop-by-hop: when the server closes after a framed
        # response (moto always does), the proxy still keeps the client's
        # connection alive and opens a new upstream one for the next request.
        upstream_close = resp.wants_close() or rframing == "eof"
        close_after = rframing == "eof" or head.wants_close()
        drop = ("connection",) if upstream_close and not close_after else ()

        if kind == "reset_after_forward":
            for _ in _iter_body(self.up_rfile, rframing, rlength):
                pass
            if upstream_close:
                self._drop_upstream()
            record.status = None
            _reset(self.sock, self.rfile)
            raise _Closed("reset_after_forward")

        self._send(resp.raw(drop=drop))
        if kind == "truncate":
            left = fault.nbytes
            for piece in _iter_body(self.up_rfile, rframing, rlength):
                if left <= 0:
                    break
                self._send(piece[:left])
                left -= len(piece)
            self._drop_upstream(reset=True)  # the rest of the body is unread
            raise _Closed("truncate")  # serve() closes the client gracefully

        flip = fault.offset if kind == "corrupt" else -1  # where the byte to invert is, from here
        for piece in _iter_body(self.up_rfile, rframing, rlength):
            if 0 <= flip < len(piece):
                piece = piece[:flip] + bytes([piece[flip] ^ 0xFF]) + piece[flip + 1:]
            flip -= len(piece)
            self._send(piece)
            record.received += len(piece)
        if upstream_close:
            self._drop_upstream()
        return not close_after


class LoopbackServer:
    """The bounded accept loop of a threaded server on 127.0.0.1, one thread per connection
    (this module's :class:`FaultProxy` and ``stand_ins``' servers).

    A subclass sets ``_lock``, ``connections`` and ``idle_timeout``, calls :meth:`_listen`,
    and serves a connection in ``_serve(sock)``, releasing its slot when done.
    """

    def _listen(self, port: int, max_connections: int, name: str) -> None:
        """Listen on 127.0.0.1:``port`` (0: any free one) and start the accept loop."""
        self._closing = threading.Event()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(128)
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()[:2]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True, name=f"{name}-{self.port}")
        self._acceptor.start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            try:
                sock, _addr = self._listener.accept()
            except (socket.timeout, BlockingIOError):
                self._slots.release()
                continue
            except OSError:
                self._slots.release()
                break
            sock.settimeout(self.idle_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                      name=f"{type(self).__name__}-{self.port}-conn")
            with self._lock:
                self.connections += 1
                self._sockets.add(sock)
                self._threads.add(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        raise NotImplementedError


class FaultProxy(LoopbackServer):
    """A threaded HTTP/1.1 proxy in front of ``upstream`` with fault injection.

    ``FaultProxy(upstream, port=0, max_connections=64, idle_timeout=60,
    upstream_timeout=120)``; starts listening at once on ``127.0.0.1``.
    ``endpoint_url`` is what clients use.  A context manager; ``close()``
    stops it.
    """

    def __init__(self, upstream: str, port: int = 0, max_connections: int = 64,
                 idle_timeout: float = 60.0, upstream_timeout: float = 120.0,
                 history_size: int = 10000):
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream!r}")
        self.upstream = upstream
        self.upstream_addr = (parts.hostname, parts.port or 80)
        self.idle_timeout = idle_timeout
        self.upstream_timeout = upstream_timeout
        self.handler: Callable[[RequestInfo], "str | Fault | None"] | None = None

        self._lock = threading.RLock()  # match callables may call back into the proxy
        self._rules: list[_Rule] = []
        self._counter = itertools.count(1)
        self.connections = 0  # client connections accepted
        self.requests = 0
        self.faults = 0
        self.faults_by_kind: collections.Counter = collections.Counter()
        self.history: collections.deque[Record] = collections.deque(maxlen=history_size)

        self._listen(port, max_connections, "faultproxy")
        self.endpoint_url = f"http://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return (f"<FaultProxy {self.endpoint_url} -> {self.upstream} requests={self.requests} "
                f"faults={self.faults}>")

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Rules --------------------------------------------------------------

    def fail_next(self, count: int = 1, kind: "str | int | Fault" = "internal_error",
                  match=None, **params) -> None:
        """Inject ``kind`` into the next ``count`` requests that ``match``."""
        self._add(_Rule(Fault.make(kind, **params), _make_match(match), 1, count))

    def fail_every(self, n: int, kind: "str | int | Fault" = "internal_error", match=None,
                   limit: int | None = None, **params) -> None:
        """Inject ``kind`` into every ``n``-th matching request (the n-th, 2n-th, ...
        counted from now), at most ``limit`` times (None: no limit)."""
        if n < 1:
            raise ValueError("n must be >= 1")
        self._add(_Rule(Fault.make(kind, **params), _make_match(match), n, limit))

    def fail_always(self, kind: "str | int | Fault" = "internal_error", match=None,
                    **params) -> None:
        """Inject ``kind`` into every matching request until ``clear()``."""
        self._add(_Rule(Fault.make(kind, **params), _make_match(match), 1, None))

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule (and the ``handler``); counters are kept."""
        with self._lock:
            self._rules.clear()
            self.handler = None

    def pending(self) -> int:
        """Faults still scheduled by rules with a limit (``fail_next``, limited ``fail_every``)."""
        with self._lock:
            return sum(r.remaining for r in self._rules if r.remaining)

    def reset_counters(self) -> None:
        with self._lock:
            self.connections = 0
            self.requests = 0
            self.faults = 0
            self.faults_by_kind.clear()
            self.history.clear()

    def ops(self) -> list[str]:
        """The guessed S3 operations of the recorded requests, in order."""
        with self._lock:
            return [r.op for r in self.history]

    def body_bytes(self, op: str, field: str = "sent") -> int:
        """The body bytes of the recorded ``op`` requests (``field``: ``sent`` to the server, or
        ``received`` from it)."""
        with self._lock:
            return sum(getattr(r, field) for r in self.history if r.op == op)

    def records(self, after: int = 0) -> list[Record]:
        """A copy of ``history``: the records numbered above ``after``, in order."""
        with self._lock:
            return [r for r in self.history if r.n > after]

    # Internals ----------------------------------------------------------

    def _decide(self, head: _Head) -> tuple[RequestInfo, Fault | None]:
        parts = head.first.split()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
            raise _Closed(f"bad request line {head.first[:80]!r}")
        method = parts[0].decode("latin-1").upper()
        target = parts[1].decode("latin-1")
        split = urlsplit(target)  # origin-form, or absolute-form if used as a proxy
        path, query = split.path or "/", split.query
        params = dict(parse_qsl(query, keep_blank_values=True))
        segments = path.lstrip("/").split("/", 1)
        bucket = unquote(segments[0])
        key = unquote(segments[1]) if len(segments) > 1 else ""
        with self._lock:
            self.requests += 1
            n = next(self._counter)
        info = RequestInfo(n, method, target, path, query, params, head.headers, bucket, key,
                           _guess_op(method, bucket, key, params, head.headers))
        fault = None
        handler = self.handler
        if handler is not None:
            chosen = handler(info)
            fault = Fault.make(chosen) if chosen is not None else None
        with self._lock:
            if fault is None:
                for rule in self._rules:
                    if rule.remaining == 0:
                        continue
                    if rule.match is not None and not rule.match(info):
                        continue
                    rule.seen += 1
                    if rule.seen % rule.every:
                        continue
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    fault = rule.fault
                    break
            if fault is not None:
                self.faults += 1
                self.faults_by_kind[fault.kind] += 1
        return info, fault

    def _record(self, info: RequestInfo, fault: Fault | None) -> Record:
        record = Record(info.n, info.method, info.path, info.query, info.op,
                        fault.kind if fault else None)
        with self._lock:
            self.history.append(record)
        return record

    def _serve(self, sock: socket.socket) -> None:
        try:
            _Connection(self, sock).serve()
        finally:
            self._slots.release()
            with self._lock:
                self._threads.discard(threading.current_thread())

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, shut every connection, join the threads. Idempotent."""
        if self._closing.is_set():
            return
        self._closing.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() on Linux
        except OSError:
            pass
        self._acceptor.join(timeout)
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
