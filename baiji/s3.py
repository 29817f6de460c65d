"""``from baiji import s3``: the public API as module functions (SPEC 2).

Every function calls the same-named method of one :class:`S3Connection`,
created lazily per process from the environment (a forked child makes its
own).  The exceptions of :mod:`baiji.exceptions`, :mod:`baiji.path` and its
``sep`` (as in the original) are re-exported here.
"""

from __future__ import annotations

import functools
import os
import types

from baiji import path
from baiji.connection import BulkCopyError, Planned, S3Connection, TooManyDeletions
from baiji.exceptions import (AWSCredentialsMissing, AWSError, BucketNotEmpty, BucketNotFound,
                              EventualConsistencyWarning, InvalidSchemeException,
                              InvalidVersionID, IsADirectory, KeyExists, KeyNotFound, S3Exception,
                              S3Warning, SameFile, SourceChanged, TransientError)

OPERATIONS = (
    "open", "cp", "upload_fileobj", "download_fileobj", "cp_many", "cp_r", "mv", "rm", "rm_r", "ls", "ls_info", "du",
    "glob", "info", "exists",
    "isdir", "isfile", "size", "etag", "etag_matches", "same_content", "md5", "get_url", "put_string", "get_string",
    "touch", "encrypt_at_rest", "fix_etag", "restore", "restore_r", "list_buckets", "bucket_info",
    "create_bucket", "delete_bucket", "enable_versioning", "disable_versioning", "sync_file", "sync",
    "uploads", "abort_uploads",
)

__all__ = [
    *OPERATIONS, "S3Connection", "default_connection", "path", "sep", "BulkCopyError", "TooManyDeletions", "Planned",
    "AWSError", "AWSCredentialsMissing", "S3Exception", "KeyNotFound", "BucketNotFound", "BucketNotEmpty",
    "KeyExists", "SameFile", "IsADirectory", "SourceChanged", "InvalidVersionID", "InvalidSchemeException",
    "TransientError",
    "S3Warning", "EventualConsistencyWarning",
]

sep = path.sep

_default: dict = {}


def default_connection() -> S3Connection:
    """This process's shared connection (created on first use, from the environment)."""
    if _default.get("pid") != os.getpid():
        _default.update(pid=os.getpid(), connection=S3Connection())
    return _default["connection"]


def _module_function(name: str):
    method = getattr(S3Connection, name)

    @functools.wraps(method)
    def call(*args, **kwargs):
        return getattr(default_connection(), name)(*args, **kwargs)

    # help() and inspect.signature() follow __wrapped__: a bound method's signature is the
    # method's without ``self``, computed when asked (building 35 signatures here would
    # import ``inspect``, ~4 ms, at every ``from baiji import s3``); the bound method is never called.
    call.__wrapped__ = types.MethodType(method, S3Connection)
    return call


globals().update({name: _module_function(name) for name in OPERATIONS})
