"""The stores behind baiji's operations, and the one place that picks one for a URL."""

from __future__ import annotations

from baiji import path as paths
from baiji.exceptions import InvalidSchemeException
from baiji.stores.base import Entry, Store, WriteOptions
from baiji.stores.local import LocalStore
from baiji.stores.s3 import S3Store

LOCAL = LocalStore()

__all__ = ["Entry", "Store", "WriteOptions", "LocalStore", "S3Store", "LOCAL", "store_for"]


def store_for(url: str, s3_store: S3Store) -> Store:
    """The store holding ``url``: the local filesystem or ``s3_store``.

    This is the only place that looks at a URL's scheme to choose a backend;
    any scheme but ``s3`` and local paths raises InvalidSchemeException.
    """
    scheme = paths.parse(url).scheme
    if scheme == "file":
        return LOCAL
    if scheme == "s3":
        return s3_store
    raise InvalidSchemeException(f"{url}: unsupported scheme {scheme!r} (use s3:// URLs or local paths)")
