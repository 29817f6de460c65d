"""A listing-only S3 server of virtual buckets: millions of keys, none stored.

Bucket ``vN`` or ``vN-anything`` (``v200000``, ``v10000000-a``) holds the N
keys ``key(0) .. key(N-1)``, computed from their index::

    key(i) = f"{i // 100_000:03d}/{i // 1_000 % 100:02d}/{i:08d}.dat"   # 042/17/04217999.dat

so 1,000 keys per second-level prefix and 100 of those per top-level one
(N <= 10**8: 8 digits).  The digits have fixed widths, so the keys are in
byte order as ``i`` grows, which lets a listing bisect the index instead of
scanning it.  Object ``i`` is ``size(i) = i % 1000`` bytes (``body(i)``: the
start of one fixed block) with the plain ETag ``'"' + md5(body) + '"'``
(``etag(i)``; from a table, not one MD5 per key, to keep pages fast: objects
1,000 apart share it) and ``LAST_MODIFIED``.  Buckets with the same N hold
the same objects, so any two of them are in sync.

Served (path style only, ``http://127.0.0.1:PORT/bucket/key``; any
credentials or none, signatures are not checked):

- ListObjectsV2 (``list-type=2``: ``prefix``, ``delimiter``, ``max-keys``
  up to 1000, ``continuation-token`` (the next index), ``start-after``,
  ``encoding-type=url`` (the keys are ASCII digits, ``/`` and ``.``, so the
  encoding is the identity for them); ``fetch-owner`` ignored) and
  ListObjects V1 (``marker``; ``NextMarker`` with a delimiter).  A page
  costs O(page x log N): common prefixes are found by bisection.
- HeadBucket, GetBucketLocation (empty: us-east-1), HeadObject, GetObject
  (the whole object; no ``Range``).
- ``GET /?stats``: the ``requests`` counts so far, as a JSON object (not
  counted itself), for a benchmark reading a standalone server.
- Anything else, writes first, is ``501 NotImplemented``: a no-op sync or a
  dry run must never write.  Buckets not named ``vN`` (or with N > 10**8) do
  not exist.

Use: ``with VirtualS3() as srv: srv.endpoint_url``; the session fixture
``virtual_s3`` (a plugin, listed in conftest.py); or standalone for a
benchmark: ``python -m tests.support.virtual_bucket --port 0`` prints the
endpoint URL on its first line and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import re
import signal
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

import pytest

from .faultproxy import _read_head
from .stand_ins import _request_line, _Server

__all__ = ["LAST_MODIFIED", "MAX_OBJECTS", "VirtualS3", "body", "etag", "key", "keys", "size", "virtual_s3"]

MAX_OBJECTS = 100_000_000  # key(i) has room for 8 digits
LAST_MODIFIED = "2026-01-01T00:00:00.000Z"
_HTTP_DATE = "Thu, 01 Jan 2026 00:00:00 GMT"
_BUCKET = re.compile(r"v(\d+)(-.*)?")
_XML = '<?xml version="1.0" encoding="UTF-8"?>\n'
# the parameters of a listing; others (x-id, X-Amz-*, response-* aside) are sub-resources, not served
_LISTING = {"list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after", "encoding-type",
            "fetch-owner", "marker"}
_NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def key(i: int) -> str:
    """The key of object ``i``: ``AAA/BB/AAABBCCC.dat``, AAABBCCC being ``i`` in 8 digits."""
    s = "%08d" % i
    return f"{s[:3]}/{s[3:5]}/{s}.dat"


def size(i: int) -> int:
    """The size in bytes of object ``i``."""
    return i % 1000


def body(i: int) -> bytes:
    """The content of object ``i``: the first ``size(i)`` bytes of a fixed block."""
    return _BLOCK[:size(i)]


def etag(i: int) -> str:
    """The ETag of object ``i``, quotes included: its body's MD5 (not multipart)."""
    return _ETAGS[size(i)]


_BLOCK = b"".join(b"%03d virtual bucket object\n" % line for line in range(40))[:999]
_ETAGS = [f'"{hashlib.md5(_BLOCK[:n]).hexdigest()}"' for n in range(1000)]
# what follows the key in a listing's <Contents>, by size
_TAILS = [f"</Key><LastModified>{LAST_MODIFIED}</LastModified><ETag>{tag}</ETag><Size>{n}</Size>"
          "<StorageClass>STANDARD</StorageClass></Contents>" for n, tag in enumerate(_ETAGS)]


def keys(n: int) -> list[str]:
    """All the keys of a bucket of ``n`` objects, in order."""
    return [key(i) for i in range(n)]


def bucket_size(bucket: str) -> int | None:
    """N for a bucket ``vN[-anything]``; None for any other name."""
    match = _BUCKET.fullmatch(bucket)
    return int(match.group(1)) if match and int(match.group(1)) <= MAX_OBJECTS else None


def _past(n: int, prefix: str, lo: int = 0) -> int:
    """The first index from ``lo`` on whose key, cut to ``len(prefix)``, sorts after ``prefix``."""
    return bisect_right(range(n), prefix, lo, key=lambda i: key(i)[:len(prefix)])


def _page(n: int, prefix: str, delimiter: str, start: int, marker: str, limit: int
          ) -> tuple[list[tuple[str, int]], list[str], int, int]:
    """``([(key, index) of each object], common prefixes, next index, end)`` of one listing page.

    From ``start`` on, among the keys under ``prefix`` (which end at ``end``);
    a common prefix equal to ``marker`` (a V1 ``NextMarker``) is skipped whole.
    """
    end = _past(n, prefix)
    i = max(start, bisect_left(range(end), prefix, key=key))
    found: list[tuple[str, int]] = []
    prefixes: list[str] = []
    while i < end and len(found) + len(prefixes) < limit:
        k = key(i)
        cut = k.find(delimiter, len(prefix)) if delimiter else -1
        if cut < 0:
            found.append((k, i))
            i += 1
            continue
        common = k[:cut + len(delimiter)]
        if common != marker:
            prefixes.append(common)
        i = _past(end, common, i)
    return found, prefixes, i, end


def list_objects(bucket: str, n: int, params: dict[str, str]) -> str:
    """The XML answer to ListObjects (V2 with ``list-type=2``, else V1) of a virtual bucket."""
    v2 = params.get("list-type") == "2"
    prefix, delimiter = params.get("prefix", ""), params.get("delimiter", "")
    limit = min(max(int(params.get("max-keys", "1000")), 0), 1000)
    url = params.get("encoding-type") == "url"
    encode = (lambda s: quote(s, safe="/")) if url else escape
    after = params.get("start-after" if v2 else "marker", "")
    start = bisect_right(range(n), after, key=key) if after else 0
    token = params.get("continuation-token") if v2 else None
    if token is not None:
        start = max(start, int(token))
    found, prefixes, i, end = _page(n, prefix, delimiter, start, "" if v2 else after, limit)
    truncated = i < end
    parts = [_XML, f"<ListBucketResult{_NS}><Name>{escape(bucket)}</Name><Prefix>{encode(prefix)}</Prefix>",
             f"<MaxKeys>{limit}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
    if delimiter:
        parts.append(f"<Delimiter>{encode(delimiter)}</Delimiter>")
    if url:
        parts.append("<EncodingType>url</EncodingType>")
    if v2:
        parts.append(f"<KeyCount>{len(found) + len(prefixes)}</KeyCount>")
        if token is not None:
            parts.append(f"<ContinuationToken>{escape(token)}</ContinuationToken>")
        if after:
            parts.append(f"<StartAfter>{encode(after)}</StartAfter>")
        if truncated:
            parts.append(f"<NextContinuationToken>{i}</NextContinuationToken>")
    else:
        parts.append(f"<Marker>{encode(after)}</Marker>")
        last = [k for k, _ in found[-1:]] + prefixes[-1:]
        if truncated and delimiter and last:
            parts.append(f"<NextMarker>{encode(max(last))}</NextMarker>")
    # keys and common prefixes (cut from keys) are made of digits, "/" and ".": nothing to escape or encode
    parts.extend(f"<Contents><Key>{k}{_TAILS[size(j)]}" for k, j in found)
    parts.extend(f"<CommonPrefixes><Prefix>{p}</Prefix></CommonPrefixes>" for p in prefixes)
    parts.append("</ListBucketResult>")
    return "".join(parts)


class _Refusal(Exception):
    """An S3 error answer: ``status``, ``code``, ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class VirtualS3(_Server):
    """The server: ``VirtualS3(port=0, max_connections=256)``, listening at once on
    127.0.0.1; ``endpoint_url``; a context manager, ``close()`` stops it.

    ``requests`` counts the requests by operation (``ListObjectsV2``, ``ListObjects``,
    ``HeadObject``, ``GetObject``, ``HeadBucket``, ``GetBucketLocation``; ``Refused``:
    any request answered with an error), but ``GET /?stats``, which answers them.
    """

    def __init__(self, port: int = 0, max_connections: int = 256):
        self.requests: collections.Counter[str] = collections.Counter()
        super().__init__(port, max_connections)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _handle(self, sock, rfile) -> None:
        while not self._closing.is_set():
            head = _read_head(rfile, allow_eof=True)
            if head is None:
                return
            method, target, _version = _request_line(head)
            split = urlsplit(target)
            try:
                op, status, headers, data = self._route(method, split.path,
                                                        dict(parse_qsl(split.query, keep_blank_values=True)))
            except _Refusal as refusal:
                op, status, headers, data = "Refused", refusal.status, [("Content-Type", "application/xml")], (
                    f"{_XML}<Error><Code>{refusal.code}</Code><Message>{escape(refusal.message)}</Message>"
                    f"<Resource>{escape(target)}</Resource><RequestId>virtual</RequestId></Error>").encode()
            if op:
                with self._lock:
                    self.requests[op] += 1
            if not self._answer(sock, rfile, head, method, status, headers, data):
                return

    def _route(self, method: str, path: str, params: dict[str, str]
               ) -> tuple[str, int, list[tuple[str, str]], bytes]:
        bucket, _, name = path.lstrip("/").partition("/")
        bucket, name = unquote(bucket), unquote(name)
        if method == "GET" and not bucket and "stats" in params:
            with self._lock:
                counts = json.dumps(self.requests)
            return "", 200, [("Content-Type", "application/json")], counts.encode()
        n = bucket_size(bucket) if bucket else None
        if method not in ("GET", "HEAD"):
            raise _Refusal(501, "NotImplemented",
                           f"{method} is not implemented: the virtual buckets are read-only")
        if n is None:
            raise _Refusal(404, "NoSuchBucket", "not a virtual bucket (vN or vN-suffix, N <= 10**8)")
        asked = {p for p in params if not p.lower().startswith(("x-", "response-"))} - _LISTING
        if asked and (name or asked != {"location"}):
            raise _Refusal(501, "NotImplemented", f"?{sorted(asked)[0]} is not implemented: only listings, "
                           "GetBucketLocation and objects are served")
        if name:
            i = bisect_left(range(n), name, key=key)
            if i == n or key(i) != name:
                raise _Refusal(404, "NoSuchKey", "The specified key does not exist.")
            headers = [("ETag", etag(i)), ("Last-Modified", _HTTP_DATE),
                       ("Content-Type", "application/octet-stream")]
            # HEAD: _answer sends the head only, with the body's Content-Length
            return ("GetObject" if method == "GET" else "HeadObject"), 200, headers, body(i)
        if method == "HEAD":
            return "HeadBucket", 200, [("x-amz-bucket-region", "us-east-1")], b""
        xml = [("Content-Type", "application/xml")]
        if "location" in params:
            return "GetBucketLocation", 200, xml, f"{_XML}<LocationConstraint{_NS}/>".encode()
        try:
            answer = list_objects(bucket, n, params).encode()
        except ValueError as err:
            raise _Refusal(400, "InvalidArgument", str(err)) from None
        return ("ListObjectsV2" if params.get("list-type") == "2" else "ListObjects"), 200, xml, answer


@pytest.fixture(scope="session")
def virtual_s3() -> Iterator[VirtualS3]:
    """A :class:`VirtualS3` for the session (``.endpoint_url``)."""
    with VirtualS3() as srv:
        yield srv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with VirtualS3(args.port) as srv:
        print(srv.endpoint_url, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
