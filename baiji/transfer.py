"""Copies of one file: ``cp`` and ``mv``, streams in and out, small objects as strings.

A copy is one of three cases: within one store (server-side for S3), to the
local disk (a download), or from it (an upload).  Each function is the body
of the :class:`~baiji.connection.S3Connection` method of its name (``conn``),
whose docstring is its contract.
"""

from __future__ import annotations

import gzip as gzip_module
import itertools
import mimetypes
import os
import re
import shutil
import warnings
from datetime import datetime, timezone

from baiji import path as paths
from baiji.exceptions import BucketNotFound, KeyExists, KeyNotFound, S3Exception, SameFile
from baiji.progress import reporter
from baiji.report import Planned, Resumed
from baiji.stores import Store, WriteOptions
from baiji.stores.base import DEFAULT_CONTENT_TYPE
from baiji.stores.local import require_regular
from baiji.stores.local import translated as local_errors
from baiji.tempfiles import temp_path

_HTML_SNIFF = b"<!doctype html"
_UNSAFE_CHARS = {chr(c) for c in range(32)} | {"\x7f"}


def _guess_content_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path)
    if guessed:
        return guessed
    if not os.path.splitext(path)[1]:
        with local_errors(path), open(path, "rb") as f:
            if _HTML_SNIFF in f.read(100).lower():
                return "text/html"
    return DEFAULT_CONTENT_TYPE


def unsafe_relative_path(rel: str) -> str | None:
    """Why ``rel`` must not be written below a local directory, or None if it is safe."""
    if not rel or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        return "absolute path"
    parts = rel.replace("\\", "/").split("/")
    if any(part in ("..", ".") for part in parts):
        return "'..' or '.' segment"
    if any(part == "" for part in parts):
        return "empty path segment"
    if _UNSAFE_CHARS & set(rel):
        return "control character"
    return None


def _placed(src: str, dst: str) -> str:
    """Where ``cp`` puts ``src`` given ``dst``: ``dst/basename(src)`` for a directory-like ``dst``."""
    return paths.join(dst, paths.basename(src)) if paths.isdirlike(dst) else dst


#: cp's options of what is written beyond the original's (aws s3's), and their boto3 names.
HEADER_OPTIONS = {"cache_control": "CacheControl", "content_disposition": "ContentDisposition",
                  "expires": "Expires", "storage_class": "StorageClass"}
#: The values of cp's ``sse``: SSE-S3 (what ``encrypt`` asks for) and SSE-KMS.
SSE_KINDS = ("AES256", "aws:kms")


def write_headers(encrypt: bool, sse: str | None, sse_kms_key_id: str | None, **given) -> dict:
    """The boto3 arguments of cp's :data:`HEADER_OPTIONS` (``given``) and ``sse``; ValueError when
    they contradict each other or ``encrypt``."""
    if sse not in (None, *SSE_KINDS):
        raise ValueError(f"sse must be one of {', '.join(SSE_KINDS)}, not {sse!r}")
    if sse and not encrypt:
        raise ValueError("encrypt=False and sse contradict each other")
    if sse_kms_key_id and sse != "aws:kms":
        raise ValueError("sse_kms_key_id: needs sse='aws:kms'")
    headers = {HEADER_OPTIONS[name]: value for name, value in given.items() if value is not None}
    if "Expires" in headers:
        headers["Expires"] = _moment(headers["Expires"])
    if sse == "aws:kms":
        headers["ServerSideEncryption"] = sse
        if sse_kms_key_id:
            headers["SSEKMSKeyId"] = sse_kms_key_id
    return headers


def _moment(when) -> datetime:
    """``expires`` as a datetime: one, or its ISO 8601 text (``2027-01-31T00:00:00Z``); UTC if naive."""
    try:
        moment = when if isinstance(when, datetime) else datetime.fromisoformat(str(when).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expires: not an ISO 8601 date and time: {when!r} (like 2027-01-31T00:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def cp(conn, src: str, dst: str, force: bool, progress, policy: str | None, preserve_acl: bool,
       encoding: str | None, encrypt: bool, gzip: bool, content_type: str | None, guess_content_type: bool,
       metadata: dict | None, skip: bool, validate: bool, max_size: int | None, version_id: str | None,
       exact: bool, headers: dict, resume: bool) -> bool | Resumed:
    src_store, dst_store = conn._store(src), conn._store(dst)
    if paths.isdirlike(src):
        raise ValueError(f"{src} is a directory; use cp_r to copy directories")
    dst_is_dir = paths.isdirlike(dst)  # a stat for a local dst: asked once
    if exact and dst_is_dir:
        raise S3Exception(f"{dst}: a directory is in the way")
    if dst_is_dir:
        reason = dst_store.is_local and not src_store.is_local and unsafe_relative_path(paths.basename(src))
        if reason:  # e.g. s3://b/dir/.. into dst/ would target dst/..
            raise ValueError(f"refusing to copy {src} into {dst}: {reason} in key")
        dst = paths.join(dst, paths.basename(src))
        dst_store = conn._store(dst)  # the name made must be one a store takes (UTF-8 for a key)
    if _same_file(src_store, src, dst_store, dst, version_id):
        raise SameFile(f"{src} and {dst} are the same file")
    if dst_store.is_local:  # a download would be renamed over a device node or FIFO (/dev/null!)
        require_regular(paths.parse(dst).path, writing=True)
    s3_only = {"policy": policy, "encoding": encoding, "content_type": content_type,
               "metadata": metadata, "gzip": gzip, **{name: headers.get(arg) for name, arg in HEADER_OPTIONS.items()},
               "sse": headers.get("ServerSideEncryption")}
    if dst_store.is_local:
        given = [name for name, value in s3_only.items() if value]
        if given:
            raise ValueError(f"{', '.join(given)}: only for s3 destinations, not {dst}")
    for name, value in (metadata or {}).items():
        if not (str(name).isascii() and str(value).isascii()):
            raise ValueError(f"metadata {name!r}: {value!r}: S3 metadata takes ASCII only")
    if gzip and not src_store.is_local:
        raise ValueError(f"gzip: only for uploads of local files, not {src}")
    if gzip and encoding not in (None, "gzip"):
        raise ValueError(f"gzip and encoding={encoding!r} cannot be combined")
    if preserve_acl and (src_store.is_local or dst_store.is_local):
        raise ValueError("preserve_acl: only for s3 -> s3 copies")
    if preserve_acl and policy:
        raise ValueError("policy and preserve_acl cannot be combined")
    # SSE-KMS: its ETag is no MD5, so encrypt (SSE-S3, whose ETag is checked) is off; headers ask for it
    options = WriteOptions(policy=policy, encrypt=encrypt and "ServerSideEncryption" not in headers,
                           content_encoding=encoding, content_type=content_type, metadata=metadata,
                           exclusive=not force, part_size=max_size, headers=headers or None,
                           resume=resume)
    try:
        if dst_store.is_local and not force and os.path.exists(paths.parse(dst).path):
            raise KeyExists(f"{dst} already exists")
        if preserve_acl:
            options.grants = conn._s3.grants_of(src, version_id)
        there = _transfer(conn, src_store, src, dst_store, dst, options, progress, validate,
                          version_id, gzip, guess_content_type)
    except KeyExists:
        if skip:
            warnings.warn(f"Skipping {src}: {dst} already exists", UserWarning, stacklevel=2)
            return False
        raise
    except KeyNotFound as err:
        raise type(err)(f"Error copying {src} to {dst}: {err}") from err
    return Resumed(there, conn.size(src, version_id)) if there else True


def _same_file(src_store: Store, src: str, dst_store: Store, dst: str, version_id: str | None) -> bool:
    """Whether ``dst`` is ``src`` itself, so that a copy would at best change nothing and
    a move would remove the only copy: the same key (and no other version of it), or
    the same local file (``os.path.samefile``: through symlinks and hard links too).
    """
    if src_store is not dst_store:
        return False
    src_parsed, dst_parsed = paths.parse(src), paths.parse(dst)
    if not src_store.is_local:
        return version_id is None and src_parsed[:3] == dst_parsed[:3]
    try:
        return os.path.samefile(src_parsed.path, dst_parsed.path)
    except OSError:  # one of them is missing: not the same
        return False


def _transfer(conn, src_store: Store, src: str, dst_store: Store, dst: str,
              options: WriteOptions, progress, validate: bool, version_id: str | None,
              gzip: bool, guess_content_type: bool) -> int | None:
    """Copy ``src`` to ``dst``: the bytes an interrupted copy had moved already (None: not resumed)."""
    total = None if progress is not True else src_store.stat(src, version_id).size
    with reporter(progress, total, desc=paths.basename(src)) as callback:
        if src_store is dst_store:
            dst_store.copy(src, dst, options, version_id, callback)
        elif dst_store.is_local:
            return src_store.download(src, paths.parse(dst).path, version_id, callback, validate,
                                      exclusive=options.exclusive, resume=options.resume)
        else:
            local = paths.parse(src).path
            if not os.path.isfile(local):
                src_store.stat(src)  # KeyNotFound / permission error, naming src
                raise S3Exception(f"{src}: not a regular file")
            if not options.content_type:
                options.content_type = (_guess_content_type(local) if guess_content_type
                                        else DEFAULT_CONTENT_TYPE)
            if not gzip:
                return dst_store.upload(local, dst, options, callback)
            options.content_encoding = "gzip"
            with temp_path(suffix=".gz") as packed:
                # the gzip header names the source file, not baiji's temp file
                with local_errors(local), open(local, "rb") as fin, open(packed, "wb") as raw, \
                        gzip_module.GzipFile(os.path.basename(local), "wb", fileobj=raw) as fout:
                    shutil.copyfileobj(fin, fout)
                dst_store.upload(packed, dst, options, callback)
    return None


def upload_fileobj(conn, fileobj, dst: str, **cp_kwargs) -> bool:
    conn._store(dst)  # refuses a path no store takes before it is looked at as a directory
    if paths.isdirlike(dst):
        raise ValueError(f"{dst}: a stream needs a destination name, not a directory")
    if not cp_kwargs.get("force") and not cp_kwargs.get("skip") and conn.exists(dst, retries_allowed=0):
        raise KeyExists(f"{dst} already exists")
    with temp_path(suffix=os.path.splitext(paths.basename(dst))[1]) as tmp:
        with open(tmp, "wb") as f:
            shutil.copyfileobj(fileobj, f)
        return conn.cp(tmp, dst, **cp_kwargs)


def download_fileobj(conn, src: str, fileobj, version_id: str | None) -> None:
    with conn.open(src, "rb", version_id=version_id) as f:
        shutil.copyfileobj(f, fileobj)


def mv(conn, src: str, dst: str, dry_run: bool, **cp_kwargs) -> list[Planned] | None:
    if dry_run:
        return _planned_move(conn, src, dst, cp_kwargs)
    if conn.cp(src, dst, **cp_kwargs):
        _refuse_collapsed_key(conn, src, dst)
        conn.rm(src, version_id=cp_kwargs.get("version_id"))
    return None


def _planned_move(conn, src: str, dst: str, cp_kwargs: dict) -> list[Planned]:
    if paths.isdirlike(src):  # as cp refuses it
        raise ValueError(f"{src} is a directory; use cp_r to copy directories")
    dst = _placed(src, dst)
    refuse_missing_bucket(conn, dst)
    src_store, dst_store = conn._store(src), conn._store(dst)
    if _same_file(src_store, src, dst_store, dst, cp_kwargs.get("version_id")):
        return [Planned("refuse", src, dst, f"{src} and {dst} are the same file")]
    src_store.stat(src, cp_kwargs.get("version_id"))  # KeyNotFound naming it
    if not cp_kwargs.get("force") and dst_store.exists(dst):
        return [Planned("refuse", src, dst, f"{dst} already exists (use force)")]
    return [Planned("copy", src, dst), Planned("delete", None, src)]


def refuse_missing_bucket(conn, url: str) -> None:
    """A dry run's ``BucketNotFound`` for a destination in a missing bucket, where every
    real copy would fail (as ``sync``'s dry run finds when it lists the destination)."""
    if not conn._store(url).is_local and not conn._s3.bucket_exists(paths.bucket(url)):
        raise BucketNotFound(f"{url}: bucket {paths.bucket(url)} does not exist")


def _refuse_collapsed_key(conn, src: str, dst: str) -> None:
    """``S3Exception`` when the copy of ``src`` to ``dst`` (keys that differ only in
    repeated ``/``) is not listed under its own name: a server that collapses ``//``
    (SeaweedFS) wrote ``src`` itself, and removing ``src`` would remove the only copy."""
    if conn._store(src).is_local or conn._store(dst).is_local or paths.bucket(src) != paths.bucket(dst):
        return
    dst = _placed(src, dst)
    src_key, dst_key = paths.key(src), paths.key(dst)
    if src_key == dst_key or re.sub("/+", "/", src_key) != re.sub("/+", "/", dst_key):
        return
    listed = {entry.url for entry in itertools.islice(conn._s3.list(dst), 10)}
    if dst not in listed:
        raise S3Exception(f"{dst}: the server stored it as {src} (it collapses '//' in keys): "
                          f"{src} not removed")


def put_string(conn, key: str, s, encrypt: bool, replace: bool) -> None:
    data = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    options = WriteOptions(encrypt=encrypt, exclusive=not replace, content_type=DEFAULT_CONTENT_TYPE)
    conn._store(key).write_bytes(key, data, options)


def get_string(conn, key: str, encoding: str | None):
    data = conn._store(key).read_bytes(key)
    return data if encoding is None else data.decode(encoding)
