"""A minimal S3 ListObjectsV2 client on the standard library, for fast one-shot listings.

boto3 costs ~0.4 s to import and build; obstore's ``list`` rewrites or rejects
keys. This lists keys exactly as stored (``dir/``, ``a//b``, ``a/../b``,
control characters: ``encoding-type=url`` always) over one keep-alive
HTTP/1.1 connection, signed with SigV4, retried with backoff.  It also sends
the HEAD requests of downloads (:meth:`Lister.head`): obstore's GET does not
show an object's checksums.

The HTTP client is a small one on ``socket``: ``http.client`` alone costs
~20 ms to import (it pulls in ``email`` and ``ssl``).  ``ssl`` is imported
only for https endpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from baiji.config import Credentials, Target
from baiji.exceptions import without_url_passwords
from baiji.stores.listing_pages import children as _children
from baiji.stores.listing_pages import list_page as _page
from baiji.stores.listing_pages import uploads_page as _uploads_page

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Credentials", "ListError", "Lister", "sign", "canonical_query"]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
_REDIRECT_CODES = frozenset(("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"))
_BACKOFF_BASE, _BACKOFF_CAP = 0.1, 5.0


class ListError(Exception):
    """A listing failed: an S3 error response, or the transport after all retries.

    ``code``: the S3 error Code ('NoSuchBucket', 'AccessDenied', ...), '' if
    none; ``status``: the HTTP status, None for transport errors;
    ``transport``: True when no valid response arrived (refused, reset,
    timed out, truncated or unparsable); ``method``: of the request;
    ``region``: the bucket's region, when the answer names it.
    """

    def __init__(self, message: str, code: str = "", status: int | None = None,
                 transport: bool = False, method: str = "GET", region: str | None = None):
        super().__init__(message)
        self.message, self.code, self.status, self.transport = message, code, status, transport
        self.method, self.region = method, region

    @property
    def redirect(self) -> bool:
        """Whether S3 refused the request for going to the wrong region (and named the right one),
        as botocore's redirector reads it."""
        return bool(self.region) and (self.status in (301, 307) or self.code in _REDIRECT_CODES
                                      or (self.method == "HEAD" and self.status == 400))


def _q(text: str) -> str:
    """RFC 3986 encoding as SigV4 wants it: everything but ``A-Za-z0-9-_.~``."""
    return quote(text, safe="")


def canonical_query(params: dict[str, str]) -> str:
    """The query string, sorted and encoded for SigV4 (and sent exactly so)."""
    return "&".join(f"{k}={v}" for k, v in sorted((_q(k), _q(v)) for k, v in params.items()))


def sign(method: str, host: str, path: str, query: str, creds: Credentials, region: str,
         now: datetime, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The headers (``authorization`` included) of a SigV4-signed bodiless S3 request.

    ``path`` and ``query`` are already encoded, as they go on the wire;
    ``extra``: more headers (lower-case names), signed too.
    """
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    headers = {**(extra or {}), "host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date}
    if creds.token:
        headers["x-amz-security-token"] = creds.token
    names = sorted(headers)
    signed = ";".join(names)
    # SigV4's Trimall: no white space at either end, inner runs of it one space
    canonical = "\n".join([method, path, query, *(f"{n}:{' '.join(headers[n].split())}" for n in names),
                           "", signed, EMPTY_SHA256])
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + creds.secret_key).encode()
    for part in (amz_date[:8], region, "s3", "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    signature = hmac.new(key, to_sign.encode(), "sha256").hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
                                f"SignedHeaders={signed}, Signature={signature}")
    return headers


class _Connection:
    """One keep-alive HTTP/1.1 connection for bodiless requests; reopened after any failure.

    ``proxy``: a forward proxy's URL (``http://[user:pass@]host:port``): plain
    requests go to it in absolute form, https ones through a ``CONNECT``
    tunnel.  ``tls``: the ``(ca_bundle, verify)`` of https connections.
    """

    def __init__(self, scheme: str, host: str, port: int, connect_timeout: float,
                 read_timeout: float, proxy: str | None = None,
                 tls: tuple[str | None, bool] = (None, True)):
        self.scheme, self.host, self.port = scheme, host, port
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.proxy, self.tls = (urlsplit(proxy) if proxy else None), tls
        self.sock: socket.socket | None = None
        self.rfile: Any = None  # the socket's makefile('rb') while open

    def close(self) -> None:
        for obj in (self.rfile, self.sock):
            if obj is not None:
                obj.close()
        self.sock = self.rfile = None

    #: A thread's lister (its HEADs of downloads, say) goes when the thread does: so does its socket.
    __del__ = close

    def _proxy_authorization(self) -> dict[str, str]:
        if self.proxy is None or self.proxy.username is None:
            return {}
        import base64

        pair = f"{unquote(self.proxy.username)}:{unquote(self.proxy.password or '')}"
        return {"proxy-authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    def _open(self) -> None:
        where = (self.proxy.hostname, self.proxy.port or 80) if self.proxy else (self.host, self.port)
        sock = socket.create_connection(where, self.connect_timeout)
        try:
            sock.settimeout(self.read_timeout)
            if self.proxy and self.scheme == "https":
                self._tunnel(sock)
            if self.scheme == "https":
                sock = _tls_context(*self.tls).wrap_socket(sock, server_hostname=self.host)
                sock.settimeout(self.read_timeout)
        except BaseException:
            sock.close()
            raise
        self.sock, self.rfile = sock, sock.makefile("rb")

    def _tunnel(self, sock: socket.socket) -> None:
        """Ask the proxy for a tunnel to the host (``CONNECT``); OSError if it refuses."""
        assert self.proxy is not None  # _open() tunnels only through a proxy
        authority = f"{_bracketed(self.host)}:{self.port}"
        head = f"CONNECT {authority} HTTP/1.1\r\nhost: {authority}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in self._proxy_authorization().items()) + "\r\n"
        sock.sendall(head.encode())
        self.sock, self.rfile = sock, sock.makefile("rb")
        try:
            status, _ = self._read_head()
        finally:
            self.rfile.close()
            self.sock = self.rfile = None
        if status != 200:
            raise ConnectionError(f"proxy {self.proxy.hostname}:{self.proxy.port} refused the tunnel "
                                  f"to {self.host}:{self.port} (HTTP {status})")

    def request(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """``(status, header fields, body)`` of ``METHOD target``; OSError (ConnectionError: cut
        short) on failure.  Header names come lower-case."""
        if self.sock is None:
            self._open()
        assert self.sock is not None  # _open() set it, or raised
        if self.proxy and self.scheme == "http":  # absolute form, through the proxy
            port = "" if self.port == 80 else f":{self.port}"
            target = f"http://{_bracketed(self.host)}{port}{target}"
            headers = {**headers, **self._proxy_authorization()}
        try:
            head = f"{method} {target} HTTP/1.1\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            self.sock.sendall(head.encode())
            status, fields = self._read_head()
            body = b"" if method == "HEAD" else self._read_body(fields)
            if "close" in fields.get("connection", "").lower():
                self.close()
            return status, fields, body
        except BaseException:
            self.close()
            raise

    def _line(self) -> bytes:
        line = self.rfile.readline(65537)
        if not line.endswith(b"\n"):
            raise ConnectionError("connection closed mid-response" if len(line) < 65537
                                  else "response line too long")
        return line

    def _read_head(self) -> tuple[int, dict[str, str]]:
        parts = self._line().split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ConnectionError(f"not an HTTP response: {b' '.join(parts)[:60]!r}")
        fields: dict[str, str] = {}
        while (line := self._line()) not in (b"\r\n", b"\n"):
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()
        if parts[0] == b"HTTP/1.0" and "keep-alive" not in fields.get("connection", "").lower():
            fields["connection"] = "close"
        return int(parts[1]), fields

    def _exactly(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError(f"response body cut short ({len(data)} of {n} bytes)")
        return data

    def _read_body(self, fields: dict[str, str]) -> bytes:
        if "chunked" in fields.get("transfer-encoding", "").lower():
            chunks = []
            while size := int(self._line().split(b";")[0], 16):
                chunks.append(self._exactly(size))
                self._line()
            while self._line() not in (b"\r\n", b"\n"):  # trailers
                pass
            return b"".join(chunks)
        if "content-length" in fields:
            return self._exactly(int(fields["content-length"]))
        fields["connection"] = "close"  # the body runs to the end of the connection
        return self.rfile.read()


def _bracketed(host: str) -> str:
    """``host`` as it is written in a URL or a Host header: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def _tls_context(ca_bundle: str | None, verify: bool):
    """The TLS context of https connections: ``ca_bundle`` alone trusted when given (as botocore
    does), no verification at all when not ``verify`` (``--no-verify-ssl``)."""
    import ssl

    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_bundle)


#: Pages in a row that hold nothing and are still truncated before a listing is taken not to advance.
EMPTY_PAGES = 100


class Lister:
    """ListObjectsV2 and HEAD requests for the :class:`baiji.config.Target` of a connection.

    ``region_of(bucket)`` gives the region a bucket's requests are signed for
    (default: the target's); ``learn(bucket, region)`` is told the region S3
    names when it refuses a request signed for another one (``x-amz-bucket-region``
    or ``<Region>``), and the request is sent once more.  Unsigned requests when
    the target has no credentials (``--no-sign-request``).  The target's proxy
    and TLS settings apply.  Each request is tried up to ``target.attempts``
    times, with full-jitter exponential backoff (0.1 s doubling, capped at 5 s),
    on 429/500/502/503/504, ``SlowDown``, and on transport failures (refused,
    reset, timed out, truncated or unparsable responses); other errors are
    raised at once.  One keep-alive connection per host: use a Lister from one thread.
    """

    def __init__(self, target: Target, region_of: Callable[[str], str] | None = None,
                 learn: Callable[[str, str], None] | None = None,
                 connect_timeout: float = 5, read_timeout: float = 60):
        self.target = target
        self.region_of = region_of or (lambda bucket: target.region)
        self.learn = learn or (lambda bucket, region: None)
        parts = urlsplit(target.endpoint_for(target.region))
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise ValueError("endpoint must be scheme://host[:port], "
                             f"got {without_url_passwords(target.endpoint_url)!r}")
        #: The endpoint as messages show it: with its user, never its password.
        self.shown = without_url_passwords(target.endpoint_url or f"{parts.scheme}://{parts.hostname}")
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.max_attempts = max(1, target.attempts)
        self._conns: dict[tuple[str, str, int], _Connection] = {}

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def _address(self, bucket: str, region: str) -> tuple[str, str, int, str]:
        """``(scheme, host, port, path)`` for ``bucket`` in ``region`` (see ``Target.bucket_endpoint``)."""
        url, virtual = self.target.bucket_endpoint(bucket, region)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        # ignore: an endpoint always has a host (checked in __init__, or AWS's own)
        return parts.scheme, parts.hostname, port, "/" if virtual else "/" + _q(bucket)  # type: ignore[return-value]

    def pages(self, bucket: str, prefix: str, delimiter: str | None = None, max_keys: int = 0) -> Iterator[dict]:
        """Pages shaped like boto3's ``list_objects_v2`` pages (of ``max_keys`` when set: S3's 1,000 else).

        ``{'Contents': [{'Key', 'LastModified' (aware, UTC), 'ETag' (quoted),
        'Size', 'StorageClass'}], 'CommonPrefixes': [{'Prefix'}]}``, each list
        present only when not empty (as boto3 does). Raises ListError, also when
        the server repeats a continuation token or its pages stop advancing (a
        listing that would never end).
        """
        params = {"list-type": "2", "prefix": prefix, "encoding-type": "url",
                  **{name: str(v) for name, v in (("delimiter", delimiter), ("max-keys", max_keys)) if v}}
        return self._paged(bucket, prefix, params, f"listing s3://{bucket}/{prefix}", _page)

    def uploads(self, bucket: str, prefix: str) -> Iterator[dict]:
        """ListMultipartUploads pages shaped like boto3's: ``{'Uploads': [{'Key', 'UploadId',
        'Initiated' (aware, UTC)}]}`` (the list present only when not empty); ListError as :meth:`pages`.

        Keys are asked for as they are (no ``encoding-type``): SeaweedFS answers
        ``<EncodingType>url</EncodingType>`` and sends them unencoded.
        """
        return self._paged(bucket, prefix, {"uploads": "", "prefix": prefix},
                           f"listing the multipart uploads of s3://{bucket}/{prefix}", _uploads_page)

    def _paged(self, bucket: str, prefix: str, params: dict[str, str], what: str,
               parse: Callable[[ET.Element], tuple[dict, dict[str, str] | None]]) -> Iterator[dict]:
        """The pages of a listing, each with boto3's ``IsTruncated`` (whether more follow):
        ``parse(root)`` gives a page and the parameters of the next one (None: the last); a
        listing that repeats them or sends :data:`EMPTY_PAGES` empty pages in a row fails
        (ListError) instead of looping."""
        seen: set[tuple] = set()
        empty = 0
        while True:
            page, following = self._send("GET", bucket, "", params, {}, what,
                                         lambda fields, body: parse(ET.fromstring(body)))
            empty = 0 if page else empty + 1
            yield {**page, "IsTruncated": following is not None}
            if following is None:
                return
            marker = tuple(sorted(following.items()))
            if marker in seen or empty >= EMPTY_PAGES:
                why = "repeated a continuation token" if marker in seen else f"sent {empty} empty pages in a row"
                raise ListError(f"{what}: {self.shown}: the server {why}; the listing does not advance",
                                code="ListingLoop")
            seen.add(marker)
            params = {**params, **following}

    def head(self, bucket: str, key: str, params: dict[str, str], headers: dict[str, str]) -> dict[str, str]:
        """The header fields (lower-case names) of a HEAD of ``key`` with these query ``params``
        (``versionId``, ``partNumber``) and extra ``headers``.  Raises ListError."""
        return self._send("HEAD", bucket, key, params, headers, f"s3://{bucket}/{key}",
                          lambda fields, body: fields)

    def bucket_region(self, bucket: str) -> str | None:
        """The region S3 names for ``bucket`` (HeadBucket's ``x-amz-bucket-region``, which it
        sends with any status), None if it names none."""
        try:
            fields = self._send("HEAD", bucket, "", {}, {}, f"s3://{bucket}", lambda fields, body: fields,
                                follow=False)
        except ListError as err:
            return err.region
        return fields.get("x-amz-bucket-region")

    def _connection(self, scheme: str, host: str, port: int) -> _Connection:
        conn = self._conns.get((scheme, host, port))
        if conn is None:
            proxy = self.target.proxy_for(f"{scheme}://{host}:{port}/")
            conn = self._conns[(scheme, host, port)] = _Connection(
                scheme, host, port, self.connect_timeout, self.read_timeout, proxy,
                (self.target.ca_bundle, self.target.verify))
        return conn

    def _send(self, method: str, bucket: str, key: str, params: dict[str, str], extra: dict[str, str],
              what: str, answer: Callable[[dict[str, str], bytes], object], follow: bool = True):
        """``answer(fields, body)`` of the 200 (or 206) response to a signed request, retried as
        the class says, and sent once more to the region S3 names if it names another."""
        region = self.region_of(bucket)
        try:
            return self._attempts(method, bucket, key, params, extra, what, answer, region)
        except ListError as err:
            if not follow or not err.redirect or err.region == region:
                raise
            assert err.region is not None  # a redirect names the region
            self.learn(bucket, err.region)
            return self._attempts(method, bucket, key, params, extra, what, answer, err.region)

    def _attempts(self, method: str, bucket: str, key: str, params: dict[str, str], extra: dict[str, str],
                  what: str, answer: Callable[[dict[str, str], bytes], object], region: str):
        scheme, host, port, path = self._address(bucket, region)
        if key:
            path = path.rstrip("/") + "/" + quote(key, safe="/")
        query = canonical_query(params)
        target = f"{path}?{query}" if query else path
        conn = self._connection(scheme, host, port)
        wire_host = _bracketed(host) if port == (443 if scheme == "https" else 80) else f"{_bracketed(host)}:{port}"
        for attempt in range(1, self.max_attempts + 1):
            creds = self.target.credentials() if self.target.signed else None
            headers = sign(method, wire_host, path, query, creds, region, datetime.now(timezone.utc),
                           extra) if creds else {**extra, "host": wire_host}
            try:
                status, fields, body = conn.request(method, target, headers)
                if status in (200, 206):  # 206: a HEAD with partNumber
                    return answer(fields, body)
                error = _error(what, status, body, creds, method, fields.get("x-amz-bucket-region"))
                if error.redirect or (status not in _RETRY_STATUSES and error.code != "SlowDown"):
                    raise error
            except (OSError, ET.ParseError, KeyError, ValueError) as exc:  # cut, garbled
                conn.close()
                error = ListError(f"{what}: {self.shown}: {_transport(exc)}", transport=True, method=method)
                error.__cause__ = exc
            if attempt < self.max_attempts:
                time.sleep(_backoff(attempt))
        raise error


def _transport(exc: BaseException) -> str:
    """One line for a transport failure; a certificate's problem named as such."""
    reason = getattr(exc, "verify_message", None)
    if reason:
        return f"TLS certificate verification failed: {reason}"
    return f"{type(exc).__name__}: {exc}"


def _backoff(attempt: int) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))) (``os.urandom``:
    ``random`` costs 1 ms to import)."""
    return int.from_bytes(os.urandom(4), "big") / 2**32 * min(
        _BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1))


def _error(what: str, status: int, body: bytes, creds: Credentials | None, method: str = "GET",
           region: str | None = None) -> ListError:
    """The ListError for an S3 error response (Code, Message and Region from its XML, if any; a
    HEAD's error has no body, and its code is its status, as botocore gives it)."""
    try:
        fields = _children(ET.fromstring(body)) if body.strip() else {}
    except ET.ParseError:
        fields = {}
    code, message = fields.get("Code", "" if method != "HEAD" else str(status)), fields.get("Message", "")
    for secret in (creds.secret_key, creds.token) if creds else ():
        if secret:
            message = message.replace(secret, "***")
    text = f"{what}: HTTP {status}" + (f" {code}" if code else "") + (
        f": {message}" if message else "")
    return ListError(text, code=code, status=status, method=method, region=fields.get("Region") or region or None)
