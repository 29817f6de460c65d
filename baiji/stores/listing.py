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
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from urllib.parse import quote, unquote_plus, urlsplit

from baiji.config import Credentials
from baiji.exceptions import without_url_passwords

__all__ = ["Credentials", "ListError", "Lister", "sign", "canonical_query"]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
_BACKOFF_BASE, _BACKOFF_CAP = 0.1, 5.0
_VIRTUAL_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")  # no dots: https wildcards


class ListError(Exception):
    """A listing failed: an S3 error response, or the transport after all retries.

    ``code``: the S3 error Code ('NoSuchBucket', 'AccessDenied', ...), '' if
    none; ``status``: the HTTP status, None for transport errors;
    ``transport``: True when no valid response arrived (refused, reset,
    timed out, truncated or unparsable); ``method``: of the request.
    """

    def __init__(self, message: str, code: str = "", status: int | None = None,
                 transport: bool = False, method: str = "GET"):
        super().__init__(message)
        self.message, self.code, self.status, self.transport = message, code, status, transport
        self.method = method


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
    canonical = "\n".join([method, path, query, *(f"{n}:{headers[n].strip()}" for n in names),
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
    """One keep-alive HTTP/1.1 connection for bodiless requests; reopened after any failure."""

    def __init__(self, scheme: str, host: str, port: int, connect_timeout: float,
                 read_timeout: float):
        self.scheme, self.host, self.port = scheme, host, port
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.sock: socket.socket | None = None
        self.rfile = None

    def close(self) -> None:
        for obj in (self.rfile, self.sock):
            if obj is not None:
                obj.close()
        self.sock = self.rfile = None

    #: A thread's lister (its HEADs of downloads, say) goes when the thread does: so does its socket.
    __del__ = close

    def _open(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.connect_timeout)
        try:
            if self.scheme == "https":
                import ssl

                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(self.read_timeout)
        except BaseException:
            sock.close()
            raise
        self.sock, self.rfile = sock, sock.makefile("rb")

    def request(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """``(status, header fields, body)`` of ``METHOD target``; OSError (ConnectionError: cut
        short) on failure.  Header names come lower-case."""
        if self.sock is None:
            self._open()
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


class Lister:
    """ListObjectsV2 against AWS (``endpoint=None``) or an S3-compatible endpoint.

    ``credentials()`` is called before every request (they may refresh).
    Each request is tried up to ``max_attempts`` times, with full-jitter
    exponential backoff (0.1 s doubling, capped at 5 s), on 429/500/502/503/504,
    ``SlowDown``, and on transport failures (refused, reset, timed out,
    truncated or unparsable responses); other errors are raised at once.
    One keep-alive connection per host (the bucket's, virtual-hosted on AWS),
    reopened after a failure: use a Lister from one thread.
    """

    def __init__(self, endpoint: str | None, region: str, credentials: Callable[[], Credentials],
                 path_style: bool, connect_timeout: float = 5, read_timeout: float = 60,
                 max_attempts: int = 5):
        if endpoint is None:
            suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
            endpoint = f"https://s3.{region}.{suffix}"
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise ValueError(f"endpoint must be scheme://host[:port], got {endpoint!r}")
        self.scheme, self.host = parts.scheme, parts.hostname
        #: The endpoint as messages show it: with its user, never its password.
        self.shown = without_url_passwords(endpoint)
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.aws = parts.hostname.endswith((".amazonaws.com", ".amazonaws.com.cn"))
        self.region, self.credentials, self.path_style = region, credentials, path_style
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.max_attempts = max(1, max_attempts)
        self._conns: dict[str, _Connection] = {}

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def _address(self, bucket: str) -> tuple[str, str]:
        """``(host, path)`` for ``bucket``: virtual-hosted on AWS when the name allows it."""
        virtual = not self.path_style and (not self.aws or bool(_VIRTUAL_BUCKET.fullmatch(bucket)))
        host = f"{bucket}.{self.host}" if virtual else self.host
        return host, "/" if virtual else "/" + _q(bucket)

    def pages(self, bucket: str, prefix: str, delimiter: str | None = None) -> Iterator[dict]:
        """Pages shaped like boto3's ``list_objects_v2`` pages.

        ``{'Contents': [{'Key', 'LastModified' (aware, UTC), 'ETag' (quoted),
        'Size', 'StorageClass'}], 'CommonPrefixes': [{'Prefix'}]}``, each list
        present only when not empty (as boto3 does). Raises ListError.
        """
        params = {"list-type": "2", "prefix": prefix, "encoding-type": "url"}
        if delimiter:
            params["delimiter"] = delimiter
        while True:
            page, token = self._list(bucket, prefix, params)
            yield page
            if token is None:
                return
            params["continuation-token"] = token

    def _list(self, bucket: str, prefix: str, params: dict[str, str]) -> tuple[dict, str | None]:
        """One page and the next continuation token (ListError when it cannot be had)."""
        return self._send("GET", bucket, "", params, {}, f"listing s3://{bucket}/{prefix}",
                          lambda fields, body: _page(ET.fromstring(body)))

    def head(self, bucket: str, key: str, params: dict[str, str], headers: dict[str, str]) -> dict[str, str]:
        """The header fields (lower-case names) of a HEAD of ``key`` with these query ``params``
        (``versionId``, ``partNumber``) and extra ``headers``.  Raises ListError."""
        return self._send("HEAD", bucket, key, params, headers, f"s3://{bucket}/{key}",
                          lambda fields, body: fields)

    def _send(self, method: str, bucket: str, key: str, params: dict[str, str], extra: dict[str, str],
              what: str, answer: Callable[[dict[str, str], bytes], object]):
        """``answer(fields, body)`` of the 200 (or 206) response to a signed request, retried as
        the class says."""
        host, path = self._address(bucket)
        if key:
            path = path.rstrip("/") + "/" + quote(key, safe="/")
        query = canonical_query(params)
        target = f"{path}?{query}" if query else path
        conn = self._conns.get(host)
        if conn is None:
            conn = self._conns[host] = _Connection(self.scheme, host if self.aws else self.host,
                                                   self.port, self.connect_timeout,
                                                   self.read_timeout)
        wire_host = host if self.port == (443 if self.scheme == "https" else 80) \
            else f"{host}:{self.port}"
        for attempt in range(1, self.max_attempts + 1):
            creds = self.credentials()
            headers = sign(method, wire_host, path, query, creds, self.region,
                           datetime.now(timezone.utc), extra)
            try:
                status, fields, body = conn.request(method, target, headers)
                if status in (200, 206):  # 206: a HEAD with partNumber
                    return answer(fields, body)
                error = _error(what, status, body, creds, method)
                if status not in _RETRY_STATUSES and error.code != "SlowDown":
                    raise error
            except (OSError, ET.ParseError, KeyError, ValueError) as exc:  # cut, garbled
                conn.close()
                error = ListError(f"{what}: {self.shown}: "
                                  f"{type(exc).__name__}: {exc}", transport=True, method=method)
                error.__cause__ = exc
            if attempt < self.max_attempts:
                time.sleep(_backoff(attempt))
        raise error


def _backoff(attempt: int) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))) (``os.urandom``:
    ``random`` costs 1 ms to import)."""
    return int.from_bytes(os.urandom(4), "big") / 2**32 * min(
        _BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1))


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(elem: ET.Element) -> dict[str, str]:
    return {_local(child.tag): child.text or "" for child in elem}


def _error(what: str, status: int, body: bytes, creds: Credentials, method: str = "GET") -> ListError:
    """The ListError for an S3 error response (Code and Message from its XML, if any; a HEAD's
    error has no body, and its code is its status, as botocore gives it)."""
    try:
        fields = _children(ET.fromstring(body)) if body.strip() else {}
    except ET.ParseError:
        fields = {}
    code, message = fields.get("Code", "" if method != "HEAD" else str(status)), fields.get("Message", "")
    for secret in (creds.secret_key, creds.token):
        if secret:
            message = message.replace(secret, "***")
    text = f"{what}: HTTP {status}" + (f" {code}" if code else "") + (
        f": {message}" if message else "")
    return ListError(text, code=code, status=status, method=method)


def _time(text: str) -> datetime:
    """S3's ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (always UTC) as an aware datetime."""
    frac = text[20:].rstrip("Z") if text[19:20] == "." else ""
    return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                    int(text[14:16]), int(text[17:19]), int(frac[:6].ljust(6, "0")),
                    timezone.utc)


def _page(root: ET.Element) -> tuple[dict, str | None]:
    """The boto3-shaped page of a ListBucketResult and the next continuation token."""
    if _local(root.tag) != "ListBucketResult":
        raise ValueError(f"expected a ListBucketResult, got <{_local(root.tag)}>")
    top = _children(root)
    decode = unquote_plus if top.get("EncodingType") == "url" else (lambda s: s)
    contents, prefixes = [], []
    for elem in root:
        tag = _local(elem.tag)
        if tag == "Contents":
            fields = _children(elem)
            item = {"Key": decode(fields["Key"]), "LastModified": _time(fields["LastModified"]),
                    "ETag": fields.get("ETag", ""), "Size": int(fields["Size"])}
            if "StorageClass" in fields:
                item["StorageClass"] = fields["StorageClass"]
            contents.append(item)
        elif tag == "CommonPrefixes":
            prefixes.append({"Prefix": decode(_children(elem)["Prefix"])})
    page = {}
    if contents:
        page["Contents"] = contents
    if prefixes:
        page["CommonPrefixes"] = prefixes
    token = top.get("NextContinuationToken") if top.get("IsTruncated") == "true" else None
    if top.get("IsTruncated") == "true" and not token:
        raise KeyError("IsTruncated without a NextContinuationToken")
    return page, token
