"""Pure URL logic for S3 URLs and local paths (SPEC 1).

Everything here but :func:`isdir`, :func:`isfile` and :func:`gettmpdir` is
pure string work: no I/O, no credentials.  Keys after the bucket are taken
literally: ``?``, ``#``, ``;``, ``%``, ``+``, spaces and ``//`` are part of
the key, so whatever ``ls`` prints can be fed back in.

Those three ask a connection, yet this module lies below the API and never
imports it: they call :data:`default_connection`, a hook the package root
(``baiji/__init__.py``, above every layer) fills with a factory that imports
the API on its first call.  So ``import baiji.path`` stays cheap, and the
arrow runs down: the root knows both sides, this module neither.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from urllib.parse import ParseResult, urlparse

from baiji.exceptions import KeyExists

sep = "/"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_BUCKET_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")

#: Returns the connection :func:`isdir`, :func:`isfile` and :func:`gettmpdir` ask: the
#: per-process default one of :mod:`baiji.s3` (set by ``baiji/__init__.py``, see above).
default_connection: Callable = None  # type: ignore[assignment]  # filled by baiji/__init__.py at its import


def _local_abs(p: str) -> str:
    if _DRIVE.match(p):  # a Windows path: absolute as written (the original's answer)
        return p
    trailing = p.endswith(("/", os.sep))
    result = os.path.abspath(os.path.expanduser(p))
    if trailing and not result.endswith(os.sep):
        result += os.sep
    return result


def parse(s: str) -> ParseResult:
    """Split ``s`` into ``(scheme, netloc, path, '', '', '')``.

    ``s3://bucket/a/b`` -> ``('s3', 'bucket', '/a/b')``; a local path (plain,
    ``~``-relative, relative or ``file://``) -> ``('file', '', ABSOLUTE)``
    (``''`` is the current directory, as in the original: the operations
    refuse it, see :func:`baiji.stores.store_for`); a Windows drive path
    (``C:\\x``) is kept as written.
    Other schemes parse; operations on them raise InvalidSchemeException.
    """
    if not isinstance(s, str):
        raise ValueError(f"expected a path or URL string, got {type(s).__name__}: {s!r}")
    match = _SCHEME.match(s)
    if match is None or _DRIVE.match(s):
        return ParseResult("file", "", _local_abs(s), "", "", "")
    scheme = match.group(1).lower()
    rest = s[match.end():]
    if scheme == "file":
        if rest.startswith("localhost/"):
            rest = rest[len("localhost"):]
        if rest.startswith("/") and _DRIVE.match(rest[1:]):
            rest = rest[1:]
        return ParseResult("file", "", _local_abs(rest or "/"), "", "", "")
    if scheme != "s3":
        return urlparse(s)
    netloc, slash, key = rest.partition("/")
    if not netloc:
        raise ValueError(f"{s}: no bucket in S3 URL")
    if not _BUCKET_CHARS.match(netloc):
        raise ValueError(f"{s}: invalid bucket name {netloc!r}")
    return ParseResult("s3", netloc, slash + key, "", "", "")


def islocal(s: str) -> bool:
    """True for a local path or ``file://`` URL (by scheme only, no I/O)."""
    return parse(s).scheme == "file"


def isremote(s: str) -> bool:
    """True for an ``s3://`` URL (by scheme only, no I/O)."""
    return parse(s).scheme == "s3"


def bucket(p: str) -> str | None:
    """The bucket of an s3 URL, None for a local path."""
    parsed = parse(p)
    return parsed.netloc if parsed.scheme == "s3" else None


def key(p: str) -> str:
    """The key of an s3 URL, without the leading ``/`` (``''`` for a bucket)."""
    return parse(p).path[1:]


def join(base: str, *parts: str) -> str:
    """``os.path.join`` for local bases; ``/``-joined s3 URL for s3 bases."""
    for part in parts:
        if not isinstance(part, str) or _SCHEME.match(part):
            raise ValueError(f"cannot join a URL or non-string onto a path: {part!r}")
    if not isremote(base):
        return os.path.join(base, *parts)
    result = base
    for part in parts:
        result = result + part if result.endswith(sep) else result + sep + part
    return result


def basename(p: str) -> str:
    """The last path segment (``''`` when ``p`` ends with a separator)."""
    if isremote(p):
        return parse(p).path.rpartition(sep)[2]
    return os.path.basename(p)


def dirname(p: str) -> str:
    """Everything before the last segment: ``s3://b/dir`` for ``s3://b/dir/x``."""
    if isremote(p):
        parsed = parse(p)
        return f"s3://{parsed.netloc}{parsed.path.rpartition(sep)[0]}"
    return os.path.dirname(p)


def isdirlike(p: str) -> bool:
    """True for an existing local directory or any path ending in a separator."""
    parsed = parse(p)
    if p.endswith(sep) or p.endswith(os.sep) or (parsed.scheme == "s3" and not parsed.path):
        return True
    return parsed.scheme == "file" and os.path.isdir(parsed.path)


def isdir(p: str) -> bool:
    """Local: ``os.path.isdir``; s3: at least one key exists under ``p/``."""
    return default_connection().isdir(p)


def isfile(p: str) -> bool:
    """Local: ``os.path.isfile``; s3: the key itself exists."""
    return default_connection().isfile(p)


def gettmpdir(prefix: str = "tmp/", suffix: str = "", bucket: str | None = None,
              uuid_generator=None) -> str:
    """Create ``s3://BUCKET/PREFIX<uuid>SUFFIX/`` with a ``.tempdir`` marker; return it.

    ``bucket`` defaults to ``$BAIJI_TMP_BUCKET``; a prefix already taken is
    retried with a new uuid.
    """
    bucket = bucket or os.environ.get("BAIJI_TMP_BUCKET")
    if not bucket:
        raise ValueError("gettmpdir: no bucket given and BAIJI_TMP_BUCKET is not set")
    import uuid  # imported here: ~3 ms at start-up (it imports platform), only gettmpdir needs it

    make_uuid = uuid_generator or (lambda: str(uuid.uuid4()))
    conn = default_connection()
    while True:
        url = f"s3://{bucket}/{prefix}{make_uuid()}{suffix}/"
        if conn.isdir(url):
            continue
        try:
            with conn.open(url + ".tempdir", "x"):
                pass
        except KeyExists:
            continue
        return url
