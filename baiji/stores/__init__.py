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

    This is the only place that looks at a URL's scheme to choose a backend,
    and every operation passes each of its paths through it, so it also
    refuses (``ValueError``) what must never reach a store: an empty path
    (which ``path.parse`` takes as the current directory: an unset shell
    variable must never mean "here") and a local path starting with ``s3:``
    (``s3:/b/k``, a mistyped ``s3://b/k``; ``./s3:k`` is a local file), and
    an S3 key that is not UTF-8 (from a local name with undecodable bytes).
    Any scheme but ``s3`` and local paths raises InvalidSchemeException.
    """
    if url == "":
        raise ValueError("empty path '': refusing to take it as the current directory "
                         "(an unset variable?); name the directory, e.g. '.'")
    scheme = paths.parse(url).scheme
    if scheme == "file":
        if url[:3].lower() == "s3:":
            raise ValueError(f"{url}: a local path that looks like a mistyped S3 URL; "
                             f"did you mean s3://{url[3:].lstrip('/')}? (write ./{url} for a local file)")
        return LOCAL
    if scheme == "s3":
        try:
            url.encode("utf-8")
        except UnicodeEncodeError:  # a local name's undecodable bytes, kept as surrogates
            shown = url.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise ValueError(f"{shown}: not valid UTF-8, which every S3 key is "
                             "(a local file name in another encoding?)") from None
        return s3_store
    raise InvalidSchemeException(f"{url}: unsupported scheme {scheme!r} (use s3:// URLs or local paths)")
