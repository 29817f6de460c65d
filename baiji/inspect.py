"""Looking without changing: ``ls``, ``ls_info``, ``du``, ``glob``, ``info``, ``exists``, presigned
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
from collections import namedtuple
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


#: ``du``'s answer for one prefix: how many keys or files are under it and their bytes.
Usage = namedtuple("Usage", "uri files size")


def du(conn, prefix: str, sub_prefixes: bool, exclude, include) -> list[Usage]:
    store = conn._store(prefix)
    _require_local_path(store, prefix)
    if store.is_local:
        base = os.path.join(os.path.abspath(paths.parse(prefix).path), "")
    else:  # the keys are grouped by what follows the prefix's last /
        base = prefix[:prefix.rfind("/") + 1] if paths.key(prefix) else prefix.rstrip("/") + "/"
    groups: dict[str, list[int]]
    total, groups = [0, 0], {}
    for e in _usable(_selected(store, prefix, Selector(exclude, include))):
        if e.is_dir or e.delete_marker:
            continue
        for counts in (total, *([groups.setdefault(_first_level(base, e.url, store.sep), [0, 0])]
                                if sub_prefixes and store.sep in e.url[len(base):] else [])):
            counts[0] += 1
            counts[1] += e.size or 0
    return [*(Usage(uri, *counts) for uri, counts in sorted(groups.items())), Usage(prefix, *total)]


def _first_level(base: str, url: str, sep: str) -> str:
    """The sub-prefix of ``base`` one level down that holds ``url`` (it ends with ``sep``)."""
    return base + url[len(base):].split(sep, 1)[0] + sep


#: HEADs in flight at a time for ``ls_info``'s ``encrypted`` (one per key).
HEADS_IN_FLIGHT = 32


def ls_info(conn, prefix: str, shallow: bool, list_versions: bool, exclude, include,
            encryption: bool) -> Iterator[dict]:
    store = conn._store(prefix)
    _require_local_path(store, prefix)
    entries = _usable(_selected(store, prefix, Selector(exclude, include), shallow=shallow, versions=list_versions))
    pairs = (_with_encryption(store, entries, list_versions) if encryption and not store.is_local
             else ((e, None) for e in entries))
    for e, encrypted in pairs:
        yield {"uri": e.url, "size": e.size, "last_modified": e.last_modified,
               "encrypted": encrypted, "version_id": e.version_id, "is_latest": e.is_latest,
               "delete_marker": e.delete_marker}


def _with_encryption(store: Store, entries: Iterable[Entry], list_versions: bool) -> Iterator[tuple[Entry, bool]]:
    """Each s3 entry with whether it is encrypted, in the listing's order: a HEAD per key
    (not per sub-prefix or delete marker), :data:`HEADS_IN_FLIGHT` at a time, the listing read
    only as far ahead as they reach.  A key deleted since it was listed is left out, as a later
    listing would leave it out."""
    import collections
    from concurrent.futures import ThreadPoolExecutor

    def encrypted(e: Entry) -> bool | None:
        if e.is_dir or e.delete_marker:
            return None
        return store.head(e.url, e.version_id if list_versions else None).encrypted  # type: ignore[attr-defined]  # s3

    def settled(e: Entry, future) -> Iterator[tuple[Entry, bool]]:
        try:
            yield e, future.result()
        except KeyNotFound as err:
            if isinstance(err, BucketNotFound):
                raise

    pool = ThreadPoolExecutor(HEADS_IN_FLIGHT)
    try:
        window: collections.deque = collections.deque()
        for e in entries:
            window.append((e, pool.submit(encrypted, e)))
            if len(window) >= HEADS_IN_FLIGHT:
                yield from settled(*window.popleft())
        while window:
            yield from settled(*window.popleft())
    finally:  # a reader that stops early (ls -l | head) waits for no more HEADs than are in flight
        pool.shutdown(wait=True, cancel_futures=True)


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
        local_path = paths.parse(second.url).path
        require_regular(local_path)
        return remote.matches_file(first.url, local_path)
    first = remote.head(first.url)  # baiji's recorded MD5, the object's checksum
    if first.md5 is None and not integrity.strong(first.checksum):  # the copy may say it is of it
        return remote.head(second.url).metadata.get(SOURCE_ETAG_METADATA) == first.etag
    second = remote.head(second.url)
    if first.md5 and second.md5:
        return first.md5 == second.md5
    return integrity.same_checksum(first.checksum, second.checksum)
