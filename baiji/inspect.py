"""Looking without changing: ``ls``, ``ls_info``, ``glob``, ``info``, ``exists``, presigned
URLs, and whether two keys or files hold the same content (:func:`same_entries`, which
``sync`` asks too).

The public functions are the bodies of the :class:`~baiji.connection.S3Connection`
methods of their names (``conn``), whose docstrings are their contracts.
"""

from __future__ import annotations

import filecmp
import fnmatch
import os
import warnings
from typing import Iterable, Iterator

from baiji import integrity
from baiji import path as paths
from baiji.exceptions import (BucketNotFound, EventualConsistencyWarning, InvalidSchemeException, KeyNotFound,
                              S3Exception, S3Warning)
from baiji.filters import Selector
from baiji.stores import Entry, Store
from baiji.stores.base import SOURCE_ETAG_METADATA
from baiji.stores.local import require_regular
from baiji.stores.local import translated as local_errors


def _usable(entries: Iterable[Entry]) -> Iterator[Entry]:
    """The entries of a listing without its problem entries, each reported as an ``S3Warning``."""
    for entry in entries:
        if entry.problem:
            warnings.warn(f"{entry.url}: {entry.problem}", S3Warning, stacklevel=3)
        else:
            yield entry


def _require_local_path(store: Store, url: str) -> None:
    """``KeyNotFound`` for a local path that is not there (an s3 prefix is a string prefix: it may match nothing)."""
    if store.is_local and not os.path.lexists(paths.parse(url).path):
        raise KeyNotFound(f"{url}: no such file or directory")


def ls(conn, prefix: str, return_full_urls: bool, require_s3_scheme: bool, shallow: bool, followlinks: bool,
       list_versions: bool, exclude, include):
    store = conn._store(prefix)
    if require_s3_scheme and store.is_local:
        raise InvalidSchemeException(f"{prefix}: an s3:// URL is needed here")
    _require_local_path(store, prefix)
    entries = _usable(_selected(store, prefix, Selector(exclude, include), shallow=shallow,
                                versions=list_versions, followlinks=followlinks))
    if not store.is_local:
        return (e.url if return_full_urls else "/" + paths.key(e.url) for e in entries)
    root = paths.parse(prefix).path
    if return_full_urls:
        return [e.url for e in entries]
    result = []
    for e in entries:
        rel = os.path.relpath(e.url, root) if e.url.rstrip(os.sep) != root.rstrip(os.sep) else os.path.basename(root)
        result.append(rel.replace(os.sep, "/") + ("/" if e.is_dir else ""))
    return result


def ls_info(conn, prefix: str, shallow: bool, list_versions: bool, exclude, include,
            encryption: bool) -> Iterator[dict]:
    store = conn._store(prefix)
    _require_local_path(store, prefix)
    selector = Selector(exclude, include)
    for e in _usable(_selected(store, prefix, selector, shallow=shallow, versions=list_versions)):
        encrypted = None
        if encryption and not store.is_local and not e.is_dir and not e.delete_marker:
            try:
                encrypted = store.stat(e.url, e.version_id if list_versions else None).encrypted
            except BucketNotFound:
                raise
            except KeyNotFound:  # deleted since it was listed: gone, as in a later listing
                continue
        yield {"uri": e.url, "size": e.size, "last_modified": e.last_modified,
               "encrypted": encrypted, "version_id": e.version_id, "is_latest": e.is_latest,
               "delete_marker": e.delete_marker}


def _selected(store: Store, prefix: str, selector: Selector, **list_options) -> Iterable[Entry]:
    """``ls``'s entries that ``selector`` selects: paths relative to the local directory
    ``prefix``, or to the s3 ``prefix`` up to its last ``/`` (``s3://b/dir/fil``: after ``dir/``)."""
    base = (prefix[:prefix.rindex("/") + 1] if not store.is_local and paths.key(prefix)
            else store.dir_prefix(prefix))
    return selector.entries(store.list(prefix, prune=selector.prune, **list_options), base, store.sep)


def glob(conn, prefix: str, pattern: str) -> Iterator[str]:
    base = paths.parse(prefix).path if conn._store(prefix).is_local else prefix
    wanted = base + pattern
    return (url for url in conn.ls(prefix, return_full_urls=True) if fnmatch.fnmatchcase(url, wanted))


def info(conn, key: str) -> dict:
    store = conn._store(key)
    entry = store.stat(key)
    result = {"uri": key, "size": entry.size, "last_modified": entry.last_modified}
    if not store.is_local:
        try:
            acl = conn._s3.acl(key)
        except S3Exception:  # e.g. moto keeps no ACL for multipart uploads
            acl = {}
        result.update(content_type=entry.content_type, content_encoding=entry.content_encoding,
                      encrypted=entry.encrypted, acl=acl.get("Grants", []),
                      owner=acl.get("Owner"), version_id=entry.version_id)
    return result


def exists(conn, key: str, retries_allowed: int, version_id: str | None) -> bool:
    store = conn._store(key)
    if not store.is_local and not paths.key(key):
        return conn._s3.bucket_exists(paths.bucket(key))
    for attempt in range(retries_allowed + 1):
        if not store.exists(key, version_id):
            continue
        if attempt:
            warnings.warn(f"{key} was found only after {attempt + 1} attempts",
                          EventualConsistencyWarning, stacklevel=2)
        return True
    return False


def same_content(conn, key: str, other: str) -> bool:
    for url in (key, other):
        if conn._store(url).is_local:
            require_regular(paths.parse(url).path)
    first, second = conn._store(key).stat(key), conn._store(other).stat(other)
    return first.size == second.size and same_entries(conn, first, second)


def get_url(conn, key: str, ttl: int) -> str:
    store = conn._remote(key)
    store.stat(key)
    return store.presign(key, ttl)


def same_entries(conn, src: Entry, dst: Entry) -> bool:
    """Whether two equal-sized entries hold the same content, decided from their listings.

    A local side is hashed (or compared byte for byte with another local
    file).  Where the ETags leave it open (a multipart ETag of another
    part size, an S3 copy whose ETag differs from its source's), each
    remote side is read (HEAD) for the MD5 baiji records at multipart
    upload, else its additional checksum (a 64-bit or longer one: a CRC32
    is too short to call two files the same); against a local file, its
    part size too (``S3Store.matches_file``).  A source with neither is the
    same as a copy that recorded its ETag (``baiji-source-etag``, see ``S3Store.copy``).
    """
    if src.md5 and dst.md5:
        return src.md5 == dst.md5
    src_store, dst_store = conn._store(src.url), conn._store(dst.url)
    if src_store.is_local and dst_store.is_local:
        with local_errors(src.url):
            return filecmp.cmp(src.url, dst.url, shallow=False)
    if src_store.is_local != dst_store.is_local:
        store, local, remote = (src_store, src, dst) if src_store.is_local else (dst_store, dst, src)
        if remote.md5:
            return store.etag_matches(local.url, remote.md5)
        if remote.etag and remote.etag_is_md5 and store.etag_matches(local.url, remote.etag):
            return True
    elif src.etag and src.etag == dst.etag:
        return True
    first, second = (dst, src) if src_store.is_local else (src, dst)  # a HEAD first: it may end it
    remote = conn._store(first.url)
    if conn._store(second.url).is_local:
        local = paths.parse(second.url).path
        require_regular(local)
        return remote.matches_file(first.url, local)
    first = remote.head(first.url)  # baiji's recorded MD5, the object's checksum
    if first.md5 is None and not integrity.strong(first.checksum):  # the copy may say it is of it
        return remote.head(second.url).metadata.get(SOURCE_ETAG_METADATA) == first.etag
    second = remote.head(second.url)
    if first.md5 and second.md5:
        return first.md5 == second.md5
    return integrity.same_checksum(first.checksum, second.checksum)
